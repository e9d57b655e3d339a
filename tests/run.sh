#!/bin/bash
# run.sh - the whole test suite, from a fresh machine: install the Debian
# packages, build with -Werror, run `make check` (unit tests and the
# end-to-end tests against a real Postfix, nsd and smtp-sink).
#
#   sudo tests/run.sh              build in _build
#   sudo tests/run.sh --sanitize   build in _build-asan with ASan+UBSan
#   sudo tests/run.sh --valgrind   build in _build-valgrind (-O1 -g) and run
#                                  the end-to-end tests with the daemon and
#                                  the CLI under valgrind (make check-valgrind)
#
# Exits non-zero when anything fails; the test logs stay in the build dir.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/_build
flags=(--enable-werror)
target=check
jobs=$(nproc)
case "${1:-}" in
--sanitize)
	build=$top/_build-asan
	flags+=(--enable-sanitizers)
	;;
--valgrind)
	build=$top/_build-valgrind
	flags+=(CFLAGS="-O1 -g")
	target=check-valgrind
	# the tests mostly wait for the slowed daemon: more at once than cores
	jobs=$((2 * $(nproc)))
	;;
"") ;;
*)
	echo "usage: $0 [--sanitize|--valgrind]" >&2
	exit 64
	;;
esac

"$top/tests/install-deps.sh"
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
	"$top/configure" -q "${flags[@]}"
fi
make -j"$(nproc)" >/dev/null
# ASan reports from the daemon go to its stderr, which the harness checks
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
make -j"$jobs" $target
