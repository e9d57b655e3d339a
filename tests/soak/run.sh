#!/bin/bash
# run.sh - preflight's bounded soak test (run by `make soak`; never by
# `make check`).
#
# Starts, on loopback only, what the end-to-end tests start (nsd,
# smtp-sink, preflight-milter in enforce mode, a private Postfix raised to
# take SESSIONS concurrent sessions; tests/e2e/lib.sh) and sends MESSAGES
# messages over SESSIONS concurrent SMTP sessions (tests/soak/soak.py, one
# thread per session, 1 to 5 messages per session), with mixed verdicts:
#   75% deliver  (auth-pass.example to example.net, gmail.com, yahoo.com)
#    5% reject   (auth-reject.example: DMARC p=reject; 550 at end of data)
#    5% hold     (HoldSenders @compromised.example; 250, hold queue)
#    5% pause    (PauseDomains paused.example; 451 at RCPT)
#   10% budget   (to outlook.com, Budget microsoft sender-domain K/1h with
#                K half of them: the first K 250, the others 452 at RCPT)
# Then the operator lifts the pause and raises the budget (SIGHUP) and the
# client retries every 4xx once, with the same Message-ID.
# Every message is accounted for exactly once: delivered at the sink
# (matched by its X-Soak-Id: field), held (its queue id in the hold
# queue), rejected (5xx to the client) or deferred (4xx, also on retry);
# nothing missing, nothing twice. The milter's RSS and fd count are
# sampled idle after a warm-up, during the run and idle at the end; the
# fd count at the end may exceed the start by FD_MARGIN at most (a leak
# check, not a timing one). The milter's log and Postfix's log may hold
# no error or warning lines other than the expected ones.
#
# Prints TAP (one line per check), then a summary block (also written to
# -o FILE); exits 1 when a check failed. Run with top_builddir set (as
# `make soak` does), it also writes $top_builddir/tests/soak/soak.trs,
# automake's result file: one :test-result: per check, or a single ERROR
# when the run stopped before its checks (a server did not start).
#
# usage: run.sh [-n MESSAGES] [-s SESSIONS] [-o FILE] [-t STORE] [-k]
#   -n MESSAGES   messages of the main run (default 20000)
#   -s SESSIONS   concurrent SMTP sessions (default 200)
#   -o FILE       also write the summary block to FILE
#   -t STORE      the milter's StateStore: lmdb (default) or memory
#   -k            keep the temp dir (also PFL_KEEP=1)
# Runs as root (Postfix); PFL_MILTER and PFL_CLI name the binaries
# (default: the build tree's; see tests/e2e/lib.sh).

SOAK_DIR=$(cd "$(dirname "$0")" && pwd)
N=20000 S=200 OUT='' STORE=lmdb
FD_MARGIN=4

usage() {
	sed -n '/^# usage:/,/^# (default/p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}
while getopts "n:s:o:t:kh" opt; do
	case $opt in
	n) N=$OPTARG ;;
	s) S=$OPTARG ;;
	o) OUT=$OPTARG ;;
	t) STORE=$OPTARG ;;
	k) export PFL_KEEP=1 ;;
	h) usage 0 ;;
	*) usage 64 >&2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 0 ] || usage 64 >&2
[[ $N =~ ^[1-9][0-9]*$ && $S =~ ^[1-9][0-9]*$ ]] || usage 64 >&2
case $STORE in lmdb | memory) ;; *) usage 64 >&2 ;; esac
case $OUT in '' | /*) ;; *) OUT=$PWD/$OUT ;; esac

. "$SOAK_DIR/../e2e/lib.sh"
trap 'exit 130' INT TERM
require python3 postqueue postsuper
SOAK_PY="python3 $SOAK_DIR/soak.py"
RUN_ID=s$$

# --- automake's result file ----------------------------------------------------------

TRS=
_RESULTS=()
# write_trs STATUS... - the .trs: one :test-result: line per STATUS
write_trs() {
	local st g=PASS
	[ -n "$TRS" ] || return 0
	{
		for st in "$@"; do
			echo ":test-result: $st"
			[ "$st" = PASS ] || g=FAIL
		done
		[ "$*" = ERROR ] && g=ERROR
		printf ':global-test-result: %s\n:recheck: %s\n:copy-in-global-log: no\n' \
			"$g" "$([ "$g" = PASS ] && echo no || echo yes)"
	} >"$TRS"
}
if [ -n "${top_builddir:-}" ]; then
	mkdir -p "$BLD/tests/soak"
	TRS=$BLD/tests/soak/soak.trs
	write_trs ERROR # until the checks have run
fi
# lib.sh's _result, also remembering each check's PASS or FAIL
eval "_lib_result() $(declare -f _result | tail -n +2)"
_result() {
	_lib_result "$@"
	if [ "$1" = 0 ]; then _RESULTS+=(PASS); else _RESULTS+=(FAIL); fi
}

plan 11
T0=$(date +%s)
say() { printf '# %s %s\n' "$(date +%H:%M:%S)" "$*"; }

# --- the milter's config ---------------------------------------------------------

# budget-class messages are 2 in 20 of the main run (soak.py class_of);
# the budget admits half of them
NBUDGET=0
for ((i = 0; i < N; i++)); do
	case $((i % 20)) in 3 | 4) NBUDGET=$((NBUDGET + 1)) ;; esac
done
BUDGET_K=$((NBUDGET / 2))
[ "$BUDGET_K" -ge 1 ] || BUDGET_K=1

if [ "$STORE" = lmdb ]; then
	mkdir -p "$T/state"
	chown nobody "$T/state"
	STORE_LINE="StateStore lmdb:$T/state/state.lmdb"
else
	STORE_LINE="StateStore memory"
fi
# soak_config [run|retry] - the milter's config: enforce mode, the hold,
# the reject, and for the run the pause and the budget
soak_config() {
	local extra=()
	[ "$1" = run ] && extra=("PauseDomains paused.example"
		"Budget microsoft sender-domain $BUDGET_K/1h")
	milter_config "Mode enforce" "EgressAddresses 192.0.2.25" "$STORE_LINE" \
		"HoldSenders @compromised.example" "OnAuthReject reject" \
		"BulkThreshold 100000000" "${extra[@]}"
}

# --- measuring the milter ------------------------------------------------------------

# proc_sample - "FDS THREADS RSS_KB ANON_KB FILE_KB" of the milter now
# (RssFile: mapped files, the LMDB store's pages among them)
proc_sample() {
	local fds st
	fds=$(find "/proc/$MILTER_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	st=$(awk '/^(Threads|VmRSS|RssAnon|RssFile):/ { v[$1] = $2 }
		END { print v["Threads:"] + 0, v["VmRSS:"] + 0, v["RssAnon:"] + 0, v["RssFile:"] + 0 }' \
		"/proc/$MILTER_PID/status" 2>/dev/null)
	echo "$fds ${st:-0 0 0 0}"
}

# idle_sample - proc_sample once the fd and thread counts have settled
# (the same twice a second apart, 30 s at most): Postfix's sessions
# have closed
idle_sample() {
	local a b i
	a=$(proc_sample)
	for ((i = 0; i < 30; i++)); do
		sleep 1
		b=$(proc_sample)
		[ "$(cut -d' ' -f1-2 <<<"$a")" = "$(cut -d' ' -f1-2 <<<"$b")" ] && break
		a=$b
	done
	echo "$b"
}

# sampler - a line "SECONDS FDS THREADS RSS ANON FILE" every second into
# $T/samples
sampler() {
	while kill -0 "$MILTER_PID" 2>/dev/null; do
		echo "$(date +%s) $(proc_sample)" >>"$T/samples"
		sleep 1
	done
}

# wait_drained WANT SECONDS - until the sink holds WANT messages and no
# queue but hold has mail (or SECONDS have passed)
wait_drained() {
	local i
	for ((i = 0; i < $2; i++)); do
		if [ "$(sink_count)" -ge "$1" ] &&
			! postqueue -c "$PF_CONF" -j 2>/dev/null | grep -v '"queue_name": *"hold"' | grep -q .; then
			return 0
		fi
		sleep 1
	done
	return 1
}

# delivered_wanted FILE... - messages of FILEs that got 250 and are not held
delivered_wanted() {
	cat "$@" | awk '{ last[$1] = $5 " " $2 } END { for (t in last) {
		split(last[t], a, " "); if (a[1] == 250 && a[2] != "hold") n++ }
		print n + 0 }'
}

# --- 1. servers ------------------------------------------------------------------------

say "soak: $N messages over $S sessions, store $STORE, budget K=$BUDGET_K of $NBUDGET"
start_nsd
start_sink
soak_config run
start_milter
# Postfix: room for S smtpd processes, no per-client limits or error
# sleeps (all sessions come from 127.0.0.1), patient milter timeouts on a
# busy machine, 50 deliveries to the sink at a time
start_postfix "default_process_limit=$((S + 50))" \
	"smtpd_client_connection_count_limit=0" \
	"smtpd_client_connection_rate_limit=0" \
	"smtpd_client_message_rate_limit=0" \
	"smtpd_client_recipient_rate_limit=0" \
	"smtpd_soft_error_limit=1000" "smtpd_hard_error_limit=1000" \
	"smtpd_error_sleep_time=0" "in_flow_delay=0" \
	"milter_connect_timeout=60s" "milter_command_timeout=60s" \
	"milter_content_timeout=300s" "default_destination_concurrency_limit=50"

# --- 2. warm-up: 2 messages per session, all delivered -----------------------------------

NW=$((2 * S))
say "warm-up: $NW messages over $S sessions"
$SOAK_PY send "$SMTP_PORT" "$S" "$RUN_ID" warmup 0 "$NW" "$T/warmup.out" deliver
wait_drained "$(delivered_wanted "$T/warmup.out")" 120
read -r FD0 THR0 RSS0 ANON0 FILE0 <<<"$(idle_sample)"
say "idle after warm-up: RSS $RSS0 kB (anon $ANON0, file $FILE0), $FD0 fds, $THR0 threads"

# --- 3. the run: N messages, mixed verdicts, S sessions ---------------------------------------

: >"$T/samples"
sampler &
SAMPLER_PID=$!
_track $SAMPLER_PID
# in two halves with an idle sample between: growth that goes on in the
# second half as in the first is a leak, growth that levels off is not
H1=$((N / 2))
say "run: $N messages, first half"
T1=$(date +%s)
$SOAK_PY send "$SMTP_PORT" "$S" "$RUN_ID" main 0 "$H1" "$T/main.out"
TH=$(date +%s)
read -r FDH THRH RSSH ANONH FILEH <<<"$(idle_sample)"
say "idle after the first half: RSS $RSSH kB (anon $ANONH, file $FILEH), $FDH fds, $THRH threads"
TH2=$(date +%s)
$SOAK_PY send "$SMTP_PORT" "$S" "$RUN_ID" main "$H1" $((N - H1)) "$T/main.out"
T2=$(date +%s)
CLIENT_S=$((TH - T1 + T2 - TH2))
say "run: client done in $CLIENT_S s; waiting for the queue to drain"
want=$(delivered_wanted "$T/warmup.out" "$T/main.out")
wait_drained "$want" $((300 + N / 20)) || say "queue not drained: sink $(sink_count) of $want"
T3=$(date +%s)
read -r FD1 THR1 RSS1 ANON1 FILE1 <<<"$(idle_sample)"
say "idle after the run: RSS $RSS1 kB (anon $ANON1, file $FILE1), $FD1 fds, $THR1 threads"

# --- 4. the client's retry: pause lifted, budget raised ------------------------------------------

soak_config retry
n=$(grep -c "reloaded" "$MILTER_LOG")
kill -HUP "$MILTER_PID"
for ((i = 0; i < 100; i++)); do
	[ "$(grep -c "reloaded" "$MILTER_LOG")" -gt "$n" ] && break
	sleep 0.1
done
NR=$(awk '$5 ~ /^4/' "$T/main.out" | wc -l)
say "retry: $NR deferred messages, once each"
$SOAK_PY retry "$SMTP_PORT" "$S" "$T/main.out" "$T/retry.out"
want=$(delivered_wanted "$T/warmup.out" "$T/main.out" "$T/retry.out")
wait_drained "$want" $((120 + NR / 20)) || say "queue not drained: sink $(sink_count) of $want"
kill "$SAMPLER_PID" 2>/dev/null
wait "$SAMPLER_PID" 2>/dev/null
read -r FD2 THR2 RSS2 ANON2 FILE2 <<<"$(idle_sample)"
T4=$(date +%s)
say "idle at the end: RSS $RSS2 kB (anon $ANON2, file $FILE2), $FD2 fds, $THR2 threads"

# --- 5. accounting ------------------------------------------------------------------------------

postqueue -c "$PF_CONF" -j >"$T/queue.json" 2>/dev/null
$SOAK_PY account "$SINK_DIR" "$T/queue.json" "$BUDGET_K" "$T/table.md" \
	"$T/checks" "$T/warmup.out" "$T/main.out" "$T/retry.out" ||
	bail "the accounting failed"
while IFS=$'\t' read -r st desc detail; do
	_result "$st" "$desc"
	[ -z "$detail" ] || diag "$detail"
done <"$T/checks"

# --- 6. the milter: alive, fds flat, RSS reported --------------------------------------------------

ok "the milter ran the whole soak (same process)" kill -0 "$MILTER_PID"
is "$(grep -c 'starting:' "$MILTER_LOG")" 1 "the milter started once"
# peaks of the samples taken during the run (each column on its own)
read -r FDP THRP RSSP ANONP FILEP <<<"$(awk '{ for (i = 2; i <= 6; i++) if ($i > m[i]) m[i] = $i }
	END { print m[2] + 0, m[3] + 0, m[4] + 0, m[5] + 0, m[6] + 0 }' "$T/samples")"
ok "fd count at the end ($FD2) within $FD_MARGIN of the start ($FD0), idle" \
	test "$FD2" -le $((FD0 + FD_MARGIN))

# one decision line per message that reached the end of data, one per
# recipient deferred at RCPT
eod=$(cat "$T"/{warmup,main,retry}.out | awk '$4 == "eod"' | wc -l)
rcpt4=$(cat "$T"/{warmup,main,retry}.out | awk '$4 == "rcpt" && $5 ~ /^4/' | wc -l)
is "$(grep 'preflight: action=' "$MILTER_LOG" | grep -vc ' rcpt=<') $(grep -c 'preflight: action=.* rcpt=<' "$MILTER_LOG")" \
	"$eod $rcpt4" "one decision line per message at its end, one per recipient deferred"

# --- 7. logs: no errors but the expected ones -----------------------------------------------------

# The milter's log has no level word: its normal lines are the decision
# and timing lines and the start/reload notices; of the others, a line
# naming a failure is unexpected.
MILTER_OK='preflight: (action=|timing )|starting: socket=|reloaded |egress check: egress=ok$'
MILTER_BAD='error|fail|cannot|refus|warn|time ?out|timed out|unable|listed|unhealthy|cannot-tell|invalid|abort|denied|panic|assert|misconfigured|not set'
grep -Ev -- "$MILTER_OK" "$MILTER_LOG" | grep -Ei -- "$MILTER_BAD" >"$T/milter.bad"
# its stderr: a copy of the log lines (foreground mode); anything else
# there (a sanitizer report, a libc message) is unexpected
grep -Ev -- ' preflight-milter\[[0-9]+\]: ' "$T/milter.stderr" >>"$T/milter.bad" 2>/dev/null
# Postfix: every warning, error, fatal or panic line is unexpected but
# qmgr's advice when the client outruns delivery to the sink (the active
# queue full of mail for it: the harness's bottleneck, not an error) and
# cleanup's note that a queue file's time stamp ran ahead of the clock on
# a loaded machine
PF_EXPECTED='postfix/qmgr\[[0-9]+\]: warning: (mail for \[127\.0\.0\.1\]:[0-9]+ is using up [0-9]+ of [0-9]+ active queue entries|you may need to (increase|reduce) .*|so that Postfix .*|please avoid flushing the whole queue when you have|lots of deferred mail, that is bad for performance|to turn off these warnings specify: qmgr_clog_warn_time = 0)$|postfix/cleanup\[[0-9]+\]: warning: (resetting file time stamps - this hurts performance|file system clock is [0-9]+ seconds? ahead of local clock)$'
grep -E '(warning|error|fatal|panic): ' "$PF_LOG" | grep -Ev -- "$PF_EXPECTED" >"$T/postfix.bad"
PF_EXPECTED_N=$(grep -Ec -- "$PF_EXPECTED" "$PF_LOG")
is "$(wc -l <"$T/milter.bad") $(wc -l <"$T/postfix.bad")" "0 0" \
	"no unexpected error lines (milter log and stderr, Postfix log)"
[ -s "$T/milter.bad" ] && head -10 "$T/milter.bad" | sed 's/^/# milter: /'
[ -s "$T/postfix.bad" ] && sed "s/^.*\]: //" "$T/postfix.bad" |
	sed -E 's/[0-9A-F]{8,}/QID/g' | sort | uniq -c | sort -rn | head -10 | sed 's/^/# postfix: /'

# --- 8. the summary -----------------------------------------------------------------------------------

decisions=$(grep -c 'preflight: action=' "$MILTER_LOG")
{
	echo "## preflight soak"
	echo
	echo "- messages: $N (+ $NW warm-up) over $S concurrent sessions; store $STORE; $(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- time: run $CLIENT_S s client side ($(awk -v n="$N" -v s="$CLIENT_S" 'BEGIN { printf "%.0f", s ? n / s : n }') msg/s), drained $((T3 - T1)) s; retry of $NR; total $((T4 - T0)) s"
	echo "- budget: K=$BUDGET_K of $NBUDGET budget-class messages"
	echo
	cat "$T/table.md"
	echo
	echo "| milter | RSS kB | anon kB | file kB | fds | threads |"
	echo "|---|---|---|---|---|---|"
	echo "| idle after warm-up (start) | $RSS0 | $ANON0 | $FILE0 | $FD0 | $THR0 |"
	echo "| idle after the first half | $RSSH | $ANONH | $FILEH | $FDH | $THRH |"
	echo "| peak during the run and the retry | $RSSP | $ANONP | $FILEP | $FDP | $THRP |"
	echo "| idle after the run | $RSS1 | $ANON1 | $FILE1 | $FD1 | $THR1 |"
	echo "| idle at the end (after reload and retry) | $RSS2 | $ANON2 | $FILE2 | $FD2 | $THR2 |"
	echo
	echo "- anon RSS growth: first half $((ANONH - ANON0)) kB, second half $((ANON1 - ANONH)) kB (a leak grows in both alike)"
	[ "$STORE" = lmdb ] && echo "- LMDB store file: $(du -k "$T/state/state.lmdb" | cut -f1) kB on disk"
	echo
	echo "- milter decision lines: $decisions; unexpected error lines: milter $(wc -l <"$T/milter.bad"), Postfix $(wc -l <"$T/postfix.bad"); expected: Postfix's queue congestion advice and clock warnings under load $PF_EXPECTED_N lines"
	echo "- result: $((_TAP_N - _TAP_FAILED)) of $_TAP_N checks passed"
} >"$T/summary.md"
sed 's/^/# /' "$T/summary.md"
[ -z "$OUT" ] || cp "$T/summary.md" "$OUT"
write_trs "${_RESULTS[@]}"
[ "$_TAP_FAILED" = 0 ] || exit 1
exit 0
