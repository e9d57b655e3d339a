#!/bin/bash
# run.sh - preflight's end-to-end benchmark (run by `make bench`; never by
# `make check`).
#
# Starts, on loopback only: nsd (tests/data/zones, also on ADDR:53 for
# opendmarc, which reads only /etc/resolv.conf), rbldnsd (a DNSBL), Redis,
# smtp-sink, a private Postfix (tests/e2e/lib.sh), and the milters under
# test; sends N messages over S parallel sessions with Postfix's
# smtp-source and times them until the sink has counted them all.
# Scenarios (-c, comma-separated; default all):
#   postfix          Postfix alone, no milter
#   noop-unix/-inet  tests/bench/noop_milter: SMFIS_ACCEPT at connect
#   noopeom-unix/-inet
#                    noop_milter -e: every step, SMFIS_ACCEPT at the end of
#                    the message (what libmilter alone costs a milter that
#                    reads the message)
#   noopeng-unix/-inet
#                    tests/bench/noop_engine: the same on preflight's own
#                    milter protocol engine (what the engine alone costs)
#   pfl-lmdb-unix/-inet, pfl-redis-unix/-inet
#                    preflight-milter, monitor mode, every check on: SPF of
#                    egress 192.0.2.25, DKIM verified, DMARC, providers,
#                    budgets (LMDB or Redis store), two DNSBLs on rbldnsd,
#                    egress checks, conformance
#   pair-unix/-inet  opendkim (Mode v) then opendmarc (SPF on), from Debian
# Every message is the same DKIM-signed file (signed once at start by
# opendkim in signing mode; Postfix gives each copy its own Message-ID),
# sent as is with smtp-source -F, so every scenario gets the same bytes.
# Then: peak RSS of each milter at -R sessions, per-message latency of
# one sequential client (and preflight's own timing lines), DNS queries
# per message (nsd-control stats, rbldnsd's query log).
# Writes DIR/latest.md, DIR/latest.json and a dated copy of each.
#
# usage: run.sh [-n N] [-s S] [-r REPS] [-l SIZES] [-c SCENARIOS] [-k]
#               [-w WARMUP] [-L LAT_N] [-R RSS_SESSIONS] [-o DIR]
#               [-m NOTE] [-b BUDGET_OUT] [-q]
# Runs as root (Postfix); PFL_MILTER, PFL_CLI, BENCH_NOOP and
# BENCH_NOOP_ENGINE name the
# binaries (default: the build tree's).

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
N='' S=20 REPS='' SIZES=2048,51200 KEEP_CONN='' WARMUP=''
LAT_N='' LAT_WARMUP=50 RSS_SESSIONS=100 OUTDIR='' NOTE='' BUDGET_OUT='' QUICK=''
ALL_SCENARIOS=postfix,noop-unix,noop-inet,noopeom-unix,noopeom-inet,noopeng-unix,noopeng-inet,pfl-lmdb-unix,pfl-lmdb-inet,pfl-redis-unix,pfl-redis-inet,pair-unix,pair-inet
SCEN=$ALL_SCENARIOS

usage() {
	sed -n '2,/^# binaries/p' "$0" | sed 's/^# \{0,1\}//'
	cat <<EOF

options:
  -n N          messages per run (default 2000)
  -s S          parallel smtp-source sessions (default $S)
  -r REPS       repetitions (default 3)
  -l SIZES      payload sizes in bytes, or with k (default 2k,50k)
  -c LIST       scenarios (default: all of $ALL_SCENARIOS)
  -k            several messages per connection (smtp-source -d); default
                one message per connection
  -w WARMUP     warm-up messages before each run (default 100)
  -L LAT_N      latency: messages per scenario (default 500; 0: skip)
  -R SESSIONS   memory: sessions of the RSS run (default $RSS_SESSIONS; 0: skip)
  -o DIR        where the results go (default tests/bench/results)
  -m NOTE       a note for the report (machine load, ...)
  -b FILE       bench_budget's output, to include in the report
  -q            quick plumbing check: -n 200 -r 1 -w 20 -L 50 unless given,
                results in the build tree's bench-quick/ unless -o is given
EOF
	exit "${1:-0}"
}

while getopts "n:s:r:l:c:kw:L:R:o:m:b:qh" opt; do
	case $opt in
	n) N=$OPTARG ;;
	s) S=$OPTARG ;;
	r) REPS=$OPTARG ;;
	l) SIZES=$OPTARG ;;
	c) SCEN=$OPTARG ;;
	k) KEEP_CONN=1 ;;
	w) WARMUP=$OPTARG ;;
	L) LAT_N=$OPTARG ;;
	R) RSS_SESSIONS=$OPTARG ;;
	o) OUTDIR=$OPTARG ;;
	m) NOTE=$OPTARG ;;
	b) BUDGET_OUT=$OPTARG ;;
	q) QUICK=1 ;;
	h) usage 0 ;;
	*) usage 64 >&2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 0 ] || usage 64 >&2
if [ -n "$QUICK" ]; then
	: "${N:=200}" "${REPS:=1}" "${WARMUP:=20}" "${LAT_N:=50}"
	LAT_WARMUP=10
fi
: "${N:=2000}" "${REPS:=3}" "${WARMUP:=100}" "${LAT_N:=500}"

# sizes: "2k,50k" -> 2048 51200
SIZE_LIST=()
for z in ${SIZES//,/ }; do
	case $z in
	*[kK]) SIZE_LIST+=($((${z%[kK]} * 1024))) ;;
	*[!0-9]* | '') echo "run.sh: bad size $z" >&2 && exit 64 ;;
	*) SIZE_LIST+=("$z") ;;
	esac
done
SC_LIST=(${SCEN//,/ })
for sc in "${SC_LIST[@]}"; do
	case ",$ALL_SCENARIOS," in
	*",$sc,"*) ;;
	*) echo "run.sh: unknown scenario $sc" >&2 && exit 64 ;;
	esac
done

. "$BENCH_DIR/../e2e/lib.sh"
trap 'exit 130' INT TERM
require smtp-source smtp-sink nsd nsd-control python3 unshare
BENCH_NOOP=${BENCH_NOOP:-$BLD/tests/bench/noop_milter}
BENCH_NOOP_ENGINE=${BENCH_NOOP_ENGINE:-$BLD/tests/bench/noop_engine}
BENCH_PY="python3 $BENCH_DIR/bench.py"
if [ -z "$OUTDIR" ]; then
	if [ -n "$QUICK" ]; then OUTDIR=$BLD/bench-quick; else OUTDIR=$SRC/tests/bench/results; fi
fi
KEYS=$SRC/tests/data/dkim/auth
SENDER=bench@auth-pass.example
RCPT=bob@gmail.com
EGRESS=192.0.2.25
AUTHSERV=mta.preflight.test
DMARC_PORT=$((PFL_PORT_BASE + 7))
NOOP_PORT=$((PFL_PORT_BASE + 9))
# opendmarc asks the resolver of /etc/resolv.conf, on port 53: nsd also
# listens on a loopback address of this port block's own
_blk=$(((PFL_PORT_BASE - 20000) / 10))
DNS53_ADDR=127.$((100 + _blk / 200)).$((1 + _blk % 200)).53
RUNS=$T/runs.jsonl
CLK_TCK=$(getconf CLK_TCK)
: >"$RUNS"

say() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }
bench_fail() { # keep $T for inspection
	_TAP_FAILED=1
	bail "$@"
}
want() { [[ " ${SC_LIST[*]} " == *" $1 "* ]]; }
want_any() { # want_any PATTERN: some chosen scenario matches the glob
	local s
	for s in "${SC_LIST[@]}"; do
		# shellcheck disable=SC2053
		[[ $s == $1 ]] && return 0
	done
	return 1
}

# --- DNS: nsd with remote control (query counts) and a port-53 address ------

bench_start_nsd() {
	local i
	NSD_EXTRA_ADDR="$DNS53_ADDR@53" NSD_CONTROL=1 start_nsd
	for ((i = 0; i < 100; i++)); do
		[ -n "$(dig +short +time=1 +tries=1 @"$DNS53_ADDR" SOA preflight.test 2>/dev/null)" ] &&
			return 0
		sleep 0.05
	done
	bench_fail "nsd did not start on $DNS53_ADDR:53"
}

# dns_count - queries nsd and rbldnsd answered so far: "NSD RBL"
dns_count() {
	local q
	q=$(nsd-control -c "$T/nsd/nsd.conf" stats_noreset 2>/dev/null |
		sed -n 's/^num\.queries=//p')
	echo "${q:-0} $(wc -l <"$RBL_DIR/queries.log")"
}

# --- the sink: with files (checks) or counting only (runs) -------------------

bench_start_sink() { # bench_start_sink files|count
	[ -n "${SINK_PID:-}" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
	mkdir -p "$SINK_DIR"
	chown nobody "$SINK_DIR"
	: >"$T/sink.out"
	local dopt=()
	[ "$1" = files ] && dopt=(-d "$SINK_DIR/%Y%m%d%H%M%S.")
	smtp-sink -u nobody -c "${dopt[@]}" "127.0.0.1:$SINK_PORT" 256 >"$T/sink.out" 2>&1 &
	SINK_PID=$!
	_track $SINK_PID
	wait_port "$SINK_PORT" || bench_fail "smtp-sink did not start"
}

# --- message files ------------------------------------------------------------

# sign_messages - one DKIM-signed message per size, $T/msg-SIZE.eml: the
# unsigned text through Postfix and opendkim in signing mode, taken from
# the sink without the trace fields and the Message-ID Postfix added
sign_messages() {
	local size f
	DKIM_CONF="SignHeaders From,To,Subject,Date,MIME-Version,Content-Type,List-Id,List-Unsubscribe,List-Unsubscribe-Post" \
		start_opendkim "*@auth-pass.example auth-pass.example a $KEYS/a.private"
	postfix_milters "inet:127.0.0.1:$DKIM_PORT"
	for size in "${SIZE_LIST[@]}"; do
		$BENCH_PY message "$size" "$SENDER" "$RCPT" >"$T/msg-$size.unsigned"
		rm -f "$SINK_DIR"/*
		smtp-source -4 -m 1 -F "$T/msg-$size.unsigned" -f "$SENDER" \
			-t "$RCPT" "127.0.0.1:$SMTP_PORT" ||
			bench_fail "could not send the message to sign"
		wait_sink 1 30 || bench_fail "the message to sign was not delivered"
		f=$(sink_files | tail -1)
		$BENCH_PY extract "$f" >"$T/msg-$size.eml" ||
			bench_fail "the signer did not sign"
	done
	kill "$DKIM_PID" && wait "$DKIM_PID" 2>/dev/null
	postfix_milters ""
}

# --- the milters ----------------------------------------------------------------

declare -A SC_MILTERS SC_PIDS PFL_CONF_OF PFL_LOG_OF PFL_PID_OF PAIR_NAMES

# wait_socket PATH - until a unix socket exists
wait_socket() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# pfl_config NAME SOCKET STORE LOGLEVEL - a preflight.conf with every check on
pfl_config() {
	cat <<EOF
Socket $2
UMask 000
UserID nobody
PidFile $T/$1.pid
Syslog no
LogFile $T/$1.log
LogLevel $4
Nameservers 127.0.0.1@$DNS_PORT
DnsTimeout 2s
Mode monitor
EgressAddresses $EGRESS
EgressHelo $AUTHSERV
StateStore $3
Budget google sender-domain 100000000/1h 1000000000/24h
Budget * sender 1000000000/1d unit=recipients
Budget gmail.com all 100000000/1m
Budget google egress-ip 1000000000/1h
BulkSenderDomains auth-pass.example
Dnsbl bl.test ip providers=* server=127.0.0.1@$RBL_PORT
Dnsbl dbl.test domain providers=* server=127.0.0.1@$RBL_PORT
EOF
}

# start_pfl NAME unix|inet lmdb|redis - a preflight-milter of its own
start_pfl() {
	local name=$1 sock store conf=$T/$1.conf pid port=$MILTER_PORT
	[ "$3" = redis ] && port=$MILTER2_PORT
	if [ "$2" = unix ]; then
		sock=unix:$T/$name.sock
		SC_MILTERS[$name]=$sock
	else
		sock=inet:$port@127.0.0.1
		SC_MILTERS[$name]=inet:127.0.0.1:$port
	fi
	if [ "$3" = lmdb ]; then
		mkdir -p "$T/state-$name"
		chown nobody "$T/state-$name"
		store=lmdb:$T/state-$name/state.lmdb
	else
		store=redis://127.0.0.1:$REDIS_PORT/0
	fi
	pfl_config "$name" "$sock" "$store" info >"$conf"
	"$PFL_MILTER" -f -c "$conf" >>"$T/milter.stderr" 2>&1 &
	pid=$!
	_track $pid
	PFL_CONF_OF[$name]=$conf
	PFL_LOG_OF[$name]=$T/$name.log
	PFL_PID_OF[$name]=$pid
	SC_PIDS[$name]=$pid
	if [ "$2" = unix ]; then wait_socket "$T/$name.sock"; else wait_port "$port" 200; fi || {
		sed 's/^/# milter: /' "$T/milter.stderr"
		bench_fail "preflight-milter $name did not start"
	}
}

# pfl_loglevel NAME LEVEL - rewrite the config with LEVEL and reload
pfl_loglevel() {
	local name=$1 conf=${PFL_CONF_OF[$1]} n
	n=$(grep -c "reloaded" "${PFL_LOG_OF[$name]}")
	sed -i "s/^LogLevel .*/LogLevel $2/" "$conf"
	kill -HUP "${PFL_PID_OF[$name]}"
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c "reloaded" "${PFL_LOG_OF[$name]}")" -gt "$n" ] && return 0
		sleep 0.05
	done
	bench_fail "preflight-milter $name did not reload"
}

# start_noop noop|noopeom|noopeng unix|inet - noop_milter (-e for
# noopeom) or noop_engine (noopeng); the inet ones of noopeom and noopeng
# listen on 127.0.0.2 and 127.0.0.3 (this block's ports are all taken)
start_noop() {
	local name=$1-$2 pid sock opt=() addr=127.0.0.1 prog=$BENCH_NOOP
	[ "$1" = noopeom ] && opt=(-e) addr=127.0.0.2
	[ "$1" = noopeng ] && prog=$BENCH_NOOP_ENGINE addr=127.0.0.3
	[ -x "$prog" ] || bench_fail "no $prog: make bench builds it"
	if [ "$2" = unix ]; then
		sock=unix:$T/$name.sock
		SC_MILTERS[$name]=$sock
	else
		sock=inet:$NOOP_PORT@$addr
		SC_MILTERS[$name]=inet:$addr:$NOOP_PORT
	fi
	"$prog" "${opt[@]}" "$sock" >>"$T/noop.stderr" 2>&1 &
	pid=$!
	_track $pid
	SC_PIDS[$name]=$pid
	if [ "$2" = unix ]; then
		wait_socket "$T/$name.sock"
	else
		for ((i = 0; i < 200; i++)); do
			(exec 3<>"/dev/tcp/$addr/$NOOP_PORT") 2>/dev/null && break
			sleep 0.05
		done
		((i < 200))
	fi || bench_fail "noop_milter $name did not start: $(cat "$T/noop.stderr")"
}

# start_pair unix|inet - opendkim (verifying) and opendmarc, Debian's
# packages: 127.0.0.1 is neither an internal host of opendkim (it would
# sign instead of verify) nor ignored by opendmarc (its default)
start_pair() {
	local k=$1 d=$T/pair-$1 dsock msock dpid mpid
	mkdir -p "$d"
	if [ "$k" = unix ]; then
		dsock=local:$d/opendkim.sock msock=local:$d/opendmarc.sock
	else
		dsock=inet:$DKIM_PORT@127.0.0.1 msock=inet:$DMARC_PORT@127.0.0.1
	fi
	cat >"$d/opendkim.conf" <<EOF
Mode			v
Socket			$dsock
UMask			000
PidFile			$d/opendkim.pid
Syslog			no
InternalHosts		192.0.2.254
Nameservers		127.0.0.1@$DNS_PORT
AuthservID		$AUTHSERV
EOF
	echo 192.0.2.254 >"$d/ignore.hosts"
	echo "nameserver $DNS53_ADDR" >"$d/resolv.conf"
	cat >"$d/opendmarc.conf" <<EOF
Socket			$msock
UMask			000
PidFile			$d/opendmarc.pid
Syslog			false
AuthservID		$AUTHSERV
TrustedAuthservIDs	$AUTHSERV
IgnoreHosts		$d/ignore.hosts
PublicSuffixList	/usr/share/publicsuffix/public_suffix_list.dat
SPFSelfValidate		true
SPFIgnoreResults	true
RejectFailures		false
EOF
	opendkim -f -x "$d/opendkim.conf" >"$d/opendkim.stderr" 2>&1 &
	dpid=$!
	_track $dpid
	# opendmarc reads only /etc/resolv.conf: give it its own, in a
	# private mount namespace (the machine's file is never touched)
	unshare -m sh -c "mount --bind '$d/resolv.conf' /etc/resolv.conf && exec opendmarc -f -c '$d/opendmarc.conf'" \
		>"$d/opendmarc.stderr" 2>&1 &
	mpid=$!
	_track $mpid
	if [ "$k" = unix ]; then
		wait_socket "$d/opendkim.sock" && wait_socket "$d/opendmarc.sock"
		SC_MILTERS[pair-$k]="unix:$d/opendkim.sock, unix:$d/opendmarc.sock"
	else
		wait_port "$DKIM_PORT" 200 && wait_port "$DMARC_PORT" 200
		SC_MILTERS[pair-$k]="inet:127.0.0.1:$DKIM_PORT, inet:127.0.0.1:$DMARC_PORT"
	fi || bench_fail "opendkim/opendmarc ($k) did not start: $(cat "$d"/*.stderr)"
	SC_PIDS[pair-$k]="$dpid $mpid"
	PAIR_NAMES[$dpid]=opendkim
	PAIR_NAMES[$mpid]=opendmarc
}

# --- measuring --------------------------------------------------------------------

# cpu_ticks PID... - user+system clock ticks of the processes so far
cpu_ticks() {
	local p t=0 v
	for p in "$@"; do
		v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) || v=0
		t=$((t + ${v:-0}))
	done
	echo $t
}

# idle_ticks - "IDLE TOTAL" of the machine (idle and iowait count as idle)
idle_ticks() { awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit}' /proc/stat; }

# source_args SIZE SESSIONS N - smtp-source's arguments
source_args() {
	local a=(-4 -s "$2" -m "$3" -F "$T/msg-$1.eml" -f "$SENDER" -t "$RCPT"
		-M client.bench.test)
	[ -n "$KEEP_CONN" ] && a+=(-d)
	echo "${a[*]} 127.0.0.1:$SMTP_PORT"
}

# measure SIZE SESSIONS N - one timed smtp-source run; its JSON
measure() {
	# shellcheck disable=SC2046
	$BENCH_PY measure "$T/sink.out" "$3" $((120 + $3 / 5)) \
		smtp-source $(source_args "$1" "$2" "$3")
}

# use_scenario SC - point Postfix's smtpd_milters at the scenario's milters
use_scenario() {
	if [ "$1" = postfix ]; then postfix_milters ""; else postfix_milters "${SC_MILTERS[$1]}"; fi
}

# run_one REP SIZE SC - warm up, then one timed run, appended to $RUNS
run_one() {
	local rep=$1 size=$2 sc=$3 m d0 d1 c0 c1 i0 i1 ok load
	use_scenario "$sc"
	m=$(measure "$size" "$S" "$WARMUP")
	[[ $m == *'"ok": true'* ]] || say "  warm-up failed: $m"
	load=$(cut -d' ' -f1 /proc/loadavg)
	read -r d0 r0 <<<"$(dns_count)"
	c0=$(cpu_ticks ${SC_PIDS[$sc]:-})
	read -r i0 t0 <<<"$(idle_ticks)"
	m=$(measure "$size" "$S" "$N")
	read -r i1 t1 <<<"$(idle_ticks)"
	c1=$(cpu_ticks ${SC_PIDS[$sc]:-})
	read -r d1 r1 <<<"$(dns_count)"
	ok=$(printf '%s' "$m" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("%s msg/s" % r["msgs_per_s"] if r["ok"] else "FAILED: %s" % r)')
	say "  rep $rep $(printf '%6s' "$size") $(printf '%-15s' "$sc") $ok (load $load)"
	local cpu=null
	[ -n "${SC_PIDS[$sc]:-}" ] && cpu=$(awk -v a="$c0" -v b="$c1" -v k="$CLK_TCK" 'BEGIN{printf "%.3f", (b - a) / k}')
	printf '%s, "rep": %d, "size": %d, "scenario": "%s", "n": %d, "sessions": %d, "loadavg1": %s, "dns_queries": %d, "rbl_queries": %d, "milter_cpu_s": %s, "idle_pct": %s}\n' \
		"${m%\}}" "$rep" "$size" "$sc" "$N" "$S" "$load" $((d1 - d0)) $((r1 - r0)) "$cpu" \
		"$(awk -v a="$i0" -v b="$i1" -v c="$t0" -v d="$t1" 'BEGIN{printf "%.1f", (d > c) ? 100 * (b - a) / (d - c) : 0}')" >>"$RUNS"
}

# --- one message per scenario: does every milter do its work? ----------------------

SANITY=$T/sanity.txt
: >"$SANITY"
check_scenario() {
	local sc=$1 f line ar
	use_scenario "$sc"
	rm -f "$SINK_DIR"/*
	# shellcheck disable=SC2046
	smtp-source $(source_args "${SIZE_LIST[0]}" 1 1) ||
		bench_fail "$sc: the check message was refused"
	wait_sink 1 30 || bench_fail "$sc: the check message was not delivered"
	f=$(sink_files | tail -1)
	case $sc in
	pfl-*)
		wait_log "${PFL_LOG_OF[$sc]}" "preflight: action=" 10
		line=$(grep "preflight: action=" "${PFL_LOG_OF[$sc]}" | tail -1 |
			sed 's/.*\]: //')
		echo "$sc: $line" >>"$SANITY"
		[[ $line == *"verdict=deliver spf=pass(ip4:$EGRESS) dkim=pass(d=auth-pass.example) dmarc=pass(p=reject)"* ]] &&
			[[ $line != *finding=* ]] ||
			bench_fail "$sc: preflight did not decide what it should: $line"
		;;
	pair-*)
		ar=$(awk '/^$/{exit} /^[ \t]/{printf " %s", $0; next} {printf "\n%s", $0}' "$f" |
			grep -i '^Authentication-Results:' | tr -s ' \t' ' ' | tr '\n' ' ')
		echo "$sc: $ar" >>"$SANITY"
		[[ $ar == *"dkim=pass"* && $ar == *"dmarc=pass"* ]] ||
			bench_fail "$sc: opendkim/opendmarc did not pass the message: $ar"
		;;
	*) echo "$sc: delivered" >>"$SANITY" ;;
	esac
}

# --- memory at many sessions ----------------------------------------------------------

RSSF=$T/rss.jsonl
: >"$RSSF"
rss_one() {
	local sc=$1 size=${SIZE_LIST[-1]} p m name
	use_scenario "$sc"
	m=$(measure "$size" "$RSS_SESSIONS" "$WARMUP")
	for p in ${SC_PIDS[$sc]}; do
		echo 5 >"/proc/$p/clear_refs" 2>/dev/null || say "  cannot reset VmHWM of $p"
	done
	m=$(measure "$size" "$RSS_SESSIONS" "$N")
	for p in ${SC_PIDS[$sc]}; do
		name=$sc
		[ -n "${PAIR_NAMES[$p]:-}" ] && name="$sc:${PAIR_NAMES[$p]}"
		python3 - "$name" "$p" "$RSS_SESSIONS" "$m" >>"$RSSF" <<'EOF'
import json, sys
name, pid, sess, m = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
st = {}
for l in open("/proc/%s/status" % pid):
    k, _, v = l.partition(":")
    st[k] = v.split()[0] if v.split() else ""
print(json.dumps({"name": name, "sessions": sess, "vmhwm_kb": int(st["VmHWM"]),
    "vmrss_kb": int(st["VmRSS"]), "rss_anon_kb": int(st["RssAnon"]),
    "rss_file_kb": int(st["RssFile"]), "threads": int(st["Threads"]),
    "msgs_per_s": m.get("msgs_per_s"), "ok": m.get("ok")}))
EOF
		say "  $name: $(tail -1 "$RSSF")"
	done
}

# --- latency --------------------------------------------------------------------------

LATF=$T/latency.jsonl
: >"$LATF"
lat_one() {
	local sc=$1 size=${SIZE_LIST[0]} out n mil=
	use_scenario "$sc"
	[[ $sc == pfl-* ]] && pfl_loglevel "$sc" debug
	n=0
	[[ $sc == pfl-* ]] && n=$(grep -c "preflight: timing total_us=" "${PFL_LOG_OF[$sc]}")
	out=$($BENCH_PY latency 127.0.0.1 "$SMTP_PORT" "$SENDER" "$RCPT" \
		"$T/msg-$size.eml" "$LAT_WARMUP" "$LAT_N") || {
		say "  $sc: latency run failed"
		return 0
	}
	if [[ $sc == pfl-* ]]; then
		sleep 0.5
		grep "preflight: timing total_us=" "${PFL_LOG_OF[$sc]}" | tail -n +$((n + 1)) |
			tail -n "$LAT_N" | sed 's/.*total_us=\([0-9]*\).*/\1/' >"$T/timing-$sc.txt"
		mil=$($BENCH_PY percentiles "$T/timing-$sc.txt")
		pfl_loglevel "$sc" info
	fi
	printf '{"name": "%s", "client": %s, "milter": %s}\n' "$sc" "$out" "${mil:-null}" >>"$LATF"
	say "  $sc: $out ${mil:+milter $mil}"
}

# --- the run ---------------------------------------------------------------------------

STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
SOURCE=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$SRC" status --porcelain -- milter 2>/dev/null)" ] && SOURCE="$SOURCE+changes"
VERSION=$("$PFL_MILTER" -V 2>&1 | head -1)
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
say "preflight benchmark: N=$N S=$S reps=$REPS sizes=${SIZE_LIST[*]} scenarios=${SC_LIST[*]}"
say "work dir $T, ports $PFL_PORT_BASE.., load average $LOADAVG"

bench_start_nsd
rbl_write bl.ip4 <<EOF
\$SOA 60 ns.bl.test hostmaster.bl.test 0 600 300 86400 60
:127.0.0.2:Listed
127.0.0.2
EOF
rbl_write dbl.dom <<EOF
\$SOA 60 ns.dbl.test hostmaster.dbl.test 0 600 300 86400 60
:127.0.1.2:Listed
test
EOF
start_rbldnsd bl.test:ip4set:bl.ip4 dbl.test:dnset:dbl.dom
bench_start_sink files
start_postfix "smtpd_milters="
say "signing the messages"
sign_messages

want_any 'pfl-redis-*' && start_redis
for sc in "${SC_LIST[@]}"; do
	case $sc in
	noop-* | noopeom-* | noopeng-*) start_noop "${sc%-*}" "${sc##*-}" ;;
	pfl-*)
		k=${sc##*-} st=${sc#pfl-}
		start_pfl "$sc" "$k" "${st%-*}"
		;;
	pair-*) start_pair "${sc#pair-}" ;;
	esac
done
say "checking what each scenario does with one message"
for sc in "${SC_LIST[@]}"; do check_scenario "$sc"; done
sed 's/^/    /' "$SANITY"

bench_start_sink count
ns=${#SC_LIST[@]}
for ((rep = 1; rep <= REPS; rep++)); do
	for size in "${SIZE_LIST[@]}"; do
		for ((j = 0; j < ns; j++)); do
			run_one "$rep" "$size" "${SC_LIST[$(((j + rep - 1) % ns))]}"
		done
	done
done

if [ "$RSS_SESSIONS" -gt 0 ]; then
	say "memory: $N messages of ${SIZE_LIST[-1]} bytes at $RSS_SESSIONS sessions"
	for sc in "${SC_LIST[@]}"; do
		[ "$sc" = postfix ] || rss_one "$sc"
	done
fi
if [ "$LAT_N" -gt 0 ]; then
	say "latency: $LAT_N messages of ${SIZE_LIST[0]} bytes, one client"
	for sc in "${SC_LIST[@]}"; do lat_one "$sc"; done
fi

# --- the report ------------------------------------------------------------------------

export BM_STAMP=$STAMP BM_N=$N BM_S=$S BM_REPS=$REPS BM_WARMUP=$WARMUP \
	BM_SIZES="${SIZE_LIST[*]}" BM_SCEN="${SC_LIST[*]}" BM_KEEP=${KEEP_CONN:-0} \
	BM_LOADAVG=$LOADAVG BM_NOTE=$NOTE BM_RSSF=$RSSF BM_LATF=$LATF \
	BM_SANITY=$SANITY BM_BUDGET=$BUDGET_OUT BM_RSS_SESS=$RSS_SESSIONS \
	BM_LAT_N=$LAT_N BM_LAT_WARMUP=$LAT_WARMUP BM_SOURCE=$SOURCE BM_VERSION=$VERSION
python3 - >"$T/meta.json" <<'EOF'
import json, os, platform, time
e = os.environ
cpu = "?"
for l in open("/proc/cpuinfo"):
    if l.startswith("model name"):
        cpu = l.split(":", 1)[1].strip()
        break
mem = "?"
for l in open("/proc/meminfo"):
    if l.startswith("MemTotal"):
        mem = "%.0f GiB" % (int(l.split()[1]) / 1048576)
sizes = [int(x) for x in e["BM_SIZES"].split()]
rss = {}
for l in open(e["BM_RSSF"]):
    r = json.loads(l)
    rss[r.pop("name")] = r
lat = {}
for l in open(e["BM_LATF"]):
    r = json.loads(l)
    c = r["client"]
    d = dict(c)
    if r.get("milter"):
        d["milter_p50_us"] = r["milter"].get("p50")
        d["milter_p99_us"] = r["milter"].get("p99")
        d["milter_n"] = r["milter"].get("n")
    lat[r["name"]] = d
base = lat.get("postfix")
if base:
    for k, d in lat.items():
        d["added_p50_ms"] = round(d["p50_ms"] - base["p50_ms"], 3)
        d["added_p99_ms"] = round(d["p99_ms"] - base["p99_ms"], 3)
budget = []
if e.get("BM_BUDGET") and os.path.exists(e["BM_BUDGET"]):
    budget = [l.rstrip("\n") for l in open(e["BM_BUDGET"]) if l.strip()]
print(json.dumps({
    "stamp": e["BM_STAMP"],
    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    "machine": {"cores": os.cpu_count(), "cpu": cpu,
                "kernel": platform.release(), "mem": mem,
                "loadavg": e["BM_LOADAVG"]},
    "note": e.get("BM_NOTE", ""),
    "source": e["BM_SOURCE"], "version": e["BM_VERSION"],
    "n": int(e["BM_N"]), "sessions": int(e["BM_S"]), "reps": int(e["BM_REPS"]),
    "warmup": int(e["BM_WARMUP"]), "sizes": sizes,
    "keep_conn": e["BM_KEEP"] == "1", "scenarios": e["BM_SCEN"].split(),
    "rss_sessions": int(e["BM_RSS_SESS"]), "rss_n": int(e["BM_N"]),
    "rss_size": sizes[-1], "lat_n": int(e["BM_LAT_N"]),
    "lat_warmup": int(e["BM_LAT_WARMUP"]), "lat_size": sizes[0],
    "sanity": [l.rstrip("\n") for l in open(e["BM_SANITY"])],
    "rss": rss, "latency": lat, "budget": budget}))
EOF
say "results in $OUTDIR (latest.md, latest.json, $STAMP.*)"
$BENCH_PY report "$RUNS" "$T/meta.json" "$OUTDIR"
