#!/bin/bash
# run.sh - build the libFuzzer targets of tests/fuzz and run each for a
# while on a copy of its seed corpus. `make fuzz` calls it with the
# environment below set from configure; it works out of tree.
#
# Usage: tests/fuzz/run.sh [-b] [-j JOBS] [-t SECONDS] [TARGET...]
#   -b          build only
#   -j JOBS     targets run at a time (default 1)
#   -t SECONDS  run time per target (default FUZZ_SECONDS, else 60)
#   TARGET      fuzz_config, ... (default: every tests/fuzz/fuzz_*.c)
#
# Environment: top_srcdir, top_builddir (the build directory: autoconfig.h
# and the output), FUZZ_CC (clang), FUZZ_CFLAGS and FUZZ_LIBS (the
# libraries' flags, as the library is built with), FUZZ_SOURCES (the
# library's .c files, relative to top_srcdir), FUZZ_MAX_LEN (8192).
#
# Everything goes under $top_builddir/tests/fuzz-build (not tests/fuzz,
# which make dist takes whole from both trees): the library compiled
# with -fsanitize=fuzzer-no-link,address,undefined (obj/, libfuzz.a), the
# targets (bin/), the corpora as they grow (run/TARGET), crashing inputs
# (crashes/TARGET/), and per target TARGET.log (libFuzzer's output) and
# TARGET.trs (one automake test result: PASS, or FAIL on a crash).
#
# Exit status: 0; 1 when a target crashed (the input's path is printed);
# 2 when the build failed.
set -uo pipefail

src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
bld=${top_builddir:-$PWD}
cc=${FUZZ_CC:-clang}
seconds=${FUZZ_SECONDS:-60}
maxlen=${FUZZ_MAX_LEN:-8192}
jobs=1
build_only=false

while getopts bj:t: o; do
	case $o in
	b) build_only=true ;;
	j) jobs=$OPTARG ;;
	t) seconds=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for f in "$src"/tests/fuzz/fuzz_*.c; do
		f=${f##*/}
		targets+=("${f%.c}")
	done
fi

out=$bld/tests/fuzz-build
mkdir -p "$out/obj" "$out/bin"
rm -f "$out"/*.trs

# result - write TARGET.trs, as automake's test drivers do
result() { # result TARGET PASS|FAIL
	printf ':test-result: %s\n:global-test-result: %s\n:recheck: %s\n:copy-in-global-log: no\n' \
		"$2" "$2" "$([ "$2" = PASS ] && echo no || echo yes)" \
		>"$out/$1.trs"
}

# build_failed - every target FAIL, exit 2
build_failed() { # build_failed MESSAGE
	local tg
	echo "run.sh: $1" >&2
	for tg in "${targets[@]}"; do
		result "$tg" FAIL
	done
	exit 2
}

[ -n "${FUZZ_SOURCES:-}" ] ||
	build_failed "FUZZ_SOURCES is not set (run make fuzz)"
command -v "$cc" >/dev/null || build_failed "no $cc (the clang package)"
[ -e "$bld/autoconfig.h" ] ||
	build_failed "no $bld/autoconfig.h: not a configured build directory"

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
# shellcheck disable=SC2206 # the flags are words
cflags=(-g -O1 -fno-omit-frame-pointer $san -I"$bld" -I"$src/milter"
	${FUZZ_CFLAGS:-})

# compile - one library source into obj/ unless the object is newer than
# it and every header
compile() { # compile SRC
	local s=$1 o
	o=$out/obj/$(basename "${s%.c}").o
	if [ "$o" -nt "$src/$s" ] && [ -z "$(find "$src/milter" -name '*.h' \
		-newer "$o" -print -quit)" ]; then
		return 0
	fi
	"$cc" "${cflags[@]}" -fsanitize=fuzzer-no-link -c "$src/$s" -o "$o"
}

t=$(date +%s)
objs=()
for s in $FUZZ_SOURCES; do
	objs+=("$out/obj/$(basename "${s%.c}").o")
done
for s in $FUZZ_SOURCES; do
	echo "$s"
done | (
	fail=0
	pids=()
	while read -r s; do
		compile "$s" &
		pids+=($!)
		if [ ${#pids[@]} -ge "${FUZZ_BUILD_JOBS:-$(nproc)}" ]; then
			wait "${pids[0]}" || fail=1
			pids=("${pids[@]:1}")
		fi
	done
	for p in "${pids[@]}"; do
		wait "$p" || fail=1
	done
	exit $fail
) || build_failed "compiling the library failed"
rm -f "$out/libfuzz.a"
ar rcs "$out/libfuzz.a" "${objs[@]}" || build_failed "ar failed"
for tg in "${targets[@]}"; do
	[ -e "$src/tests/fuzz/$tg.c" ] || build_failed "no target $tg"
	# shellcheck disable=SC2086 # the libraries are words
	"$cc" "${cflags[@]}" -Wall -Wextra -fsanitize=fuzzer \
		"$src/tests/fuzz/$tg.c" \
		"$out/libfuzz.a" ${FUZZ_LIBS:-} -o "$out/bin/$tg" ||
		build_failed "building $tg failed"
done
echo "run.sh: built ${#targets[@]} targets in $(($(date +%s) - t))s"
$build_only && exit 0

# fuzz - run one target for $seconds on a copy of its corpus
fuzz() { # fuzz TARGET
	local tg=$1 corpus=$src/tests/fuzz/corpus/$1 rc crash s
	s=$(date +%s)
	rm -rf "$out/run/$tg" "$out/crashes/$tg"
	mkdir -p "$out/run/$tg" "$out/crashes/$tg"
	[ -d "$corpus" ] && cp "$corpus"/* "$out/run/$tg/" 2>/dev/null
	# the hard limit covers a target that hangs where libFuzzer cannot
	# see it (its -timeout is per input)
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
		timeout -k 10 $((seconds + 120)) "$out/bin/$tg" \
		-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len="$maxlen" -print_final_stats=1 \
		-artifact_prefix="$out/crashes/$tg/" "$out/run/$tg" \
		>"$out/$tg.log" 2>&1
	rc=$?
	crash=$(find "$out/crashes/$tg" -type f | head -1)
	if [ "$rc" = 0 ] && [ -z "$crash" ]; then
		result "$tg" PASS
		echo "PASS: $tg ($(find "$out/run/$tg" -type f | wc -l) inputs," \
			"$(sed -n 's/^stat::number_of_executed_units: *//p' \
				"$out/$tg.log") runs, $(($(date +%s) - s))s)"
		return 0
	fi
	result "$tg" FAIL
	echo "not ok - $tg: rc=$rc, input: ${crash:-none}" >>"$out/$tg.log"
	echo "FAIL: $tg (rc=$rc): crashing input ${crash:-(none written)}," \
		"log $out/$tg.log"
	return 1
}

t=$(date +%s)
status=0
pids=()
for tg in "${targets[@]}"; do
	fuzz "$tg" &
	pids+=($!)
	if [ ${#pids[@]} -ge "$jobs" ]; then
		wait "${pids[0]}" || status=1
		pids=("${pids[@]:1}")
	fi
done
for p in "${pids[@]}"; do
	wait "$p" || status=1
done
echo "run.sh: ${#targets[@]} targets, ${seconds}s each, $(($(date +%s) - t))s"
exit "$status"
