#!/bin/bash
# lib.sh - harness for preflight's end-to-end tests.
#
# Sourced by tests/e2e/t_*.sh. Starts real servers on loopback, each test
# with its own ports and temp dir so tests may run in parallel:
#   nsd (authoritative DNS for tests/data/zones/*.zone), smtp-sink, a
#   private Postfix instance (own config, queue and data dirs; never the
#   machine's own), and preflight-milter built from this tree.
# Prints TAP. Everything started is stopped by PID at exit.

set -u

SRC=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BLD=${top_builddir:-$SRC}
PFL_MILTER=${PFL_MILTER:-$BLD/preflight-milter}
PFL_CLI=${PFL_CLI:-$BLD/preflight}
TEST_NAME=$(basename "$0" .sh)

# Ports: a block of 10 per test, below the kernel's ephemeral range
# (32768 and up, where outgoing connections take their ports), claimed
# with an atomic mkdir so that tests running in parallel never share one.
# The first block tried is derived from the test name; a claim whose
# test is gone (killed) is taken over.
_PORT_CLAIM=
_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
_claim_ports() {
	local start i b p ok
	start=$(($(printf '%s' "$TEST_NAME" | cksum | cut -d' ' -f1) % 1200))
	mkdir -p /tmp/pfl-ports
	for ((i = 0; i < 1200; i++)); do
		b=$((20000 + ((start + i) % 1200) * 10))
		if ! mkdir "/tmp/pfl-ports/$b" 2>/dev/null; then
			kill -0 "$(cat "/tmp/pfl-ports/$b/pid" 2>/dev/null)" 2>/dev/null &&
				continue
			rm -rf "/tmp/pfl-ports/$b"
			mkdir "/tmp/pfl-ports/$b" 2>/dev/null || continue
		fi
		echo $$ >"/tmp/pfl-ports/$b/pid"
		ok=1
		for ((p = b; p < b + 10; p++)); do
			_port_free $p || {
				ok=
				break
			}
		done
		if [ -n "$ok" ]; then
			PFL_PORT_BASE=$b
			_PORT_CLAIM=/tmp/pfl-ports/$b
			return 0
		fi
		rm -rf "/tmp/pfl-ports/$b"
	done
	return 1
}
if [ -z "${PFL_PORT_BASE:-}" ]; then
	_claim_ports || {
		echo "Bail out! no free block of ports in 20000-31999"
		exit 1
	}
fi
DNS_PORT=$((PFL_PORT_BASE + 0))
SMTP_PORT=$((PFL_PORT_BASE + 1))
SINK_PORT=$((PFL_PORT_BASE + 2))
MILTER_PORT=$((PFL_PORT_BASE + 3))

T=$(mktemp -d "/tmp/pfl-$TEST_NAME.XXXXXX")
chmod 755 "$T"

# PFL_VALGRIND=1 runs every preflight-milter a test starts, and every
# $PFL_CLI command, under valgrind's memcheck (tests/run.sh --valgrind,
# make check-valgrind): one log per process, $T/valgrind.PID.log for a
# daemon and $T/valgrind.cli.PID.log for the CLI, which _cleanup checks.
# Both are many times slower there: PFL_SLOW (a whole number, 6 under
# valgrind) multiplies the harness's waits. PFL_WRAPPER, when set, goes
# before the daemon's command instead. DNS_TIMEOUT, the DnsTimeout of the
# test configs (2 s), grows with it: a slowed resolver's first answer
# can take longer than 2 s.
PFL_SLOW=${PFL_SLOW:-1}
if [ -n "${PFL_VALGRIND:-}" ]; then
	[ "$PFL_SLOW" -gt 1 ] || PFL_SLOW=6
	_VG=(valgrind --tool=memcheck --leak-check=full
		--show-leak-kinds=definite --errors-for-leak-kinds=definite
		--num-callers=30 --vgdb=no "--suppressions=$SRC/tests/valgrind.supp")
	PFL_WRAPPER=${PFL_WRAPPER:-${_VG[*]} --log-file=$T/valgrind.%p.log}
	printf '#!/bin/sh\nexec %s --log-file=%s "%s" "$@"\n' "${_VG[*]}" \
		"$T/valgrind.cli.%p.log" "$PFL_CLI" >"$T/vg-preflight"
	chmod 755 "$T/vg-preflight"
	PFL_CLI=$T/vg-preflight
fi
DNS_TIMEOUT=$((2 * PFL_SLOW))s
PF_CONF=$T/postfix/etc
PF_LOG=$T/postfix/maillog
MILTER_CONF=$T/preflight.conf
MILTER_LOG=$T/milter.log
SINK_DIR=$T/sink
_PIDS=()
_POSTFIX_UP=
_TAP_N=0
_TAP_FAILED=0

# --- TAP -----------------------------------------------------------------

plan() { echo "1..$1"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
bail() {
	echo "Bail out! $*"
	exit 1
}
_result() { # _result STATUS DESC
	_TAP_N=$((_TAP_N + 1))
	if [ "$1" = 0 ]; then
		echo "ok $_TAP_N - $2"
	else
		echo "not ok $_TAP_N - $2"
		_TAP_FAILED=$((_TAP_FAILED + 1))
	fi
}
ok() { # ok DESC CMD...
	local desc=$1 rc=0
	shift
	"$@" >"$T/ok.out" 2>&1 || rc=$?
	_result $rc "$desc"
	[ $rc = 0 ] || {
		diag "command failed (rc=$rc): $*"
		sed -n '1,20p' "$T/ok.out" | sed 's/^/#   /'
	}
	return 0
}
is() { # is GOT WANT DESC
	if [ "$1" = "$2" ]; then _result 0 "$3"; else
		_result 1 "$3"
		diag "got:  '$1'" "want: '$2'"
	fi
}
like() { # like GOT ERE DESC
	if printf '%s' "$1" | grep -Eq -- "$2"; then _result 0 "$3"; else
		_result 1 "$3"
		diag "got:  '$(printf '%s' "$1" | head -c 2000)'" "want match: $2"
	fi
}
unlike() { # unlike GOT ERE DESC
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		_result 1 "$3"
		diag "got:  '$(printf '%s' "$1" | head -c 2000)'" "want no match: $2"
	else _result 0 "$3"; fi
}

# --- process bookkeeping ---------------------------------------------------

_cleanup() {
	local pid rc=$?
	if [ -n "$_POSTFIX_UP" ]; then
		postfix -c "$PF_CONF" stop >/dev/null 2>&1 || true
	fi
	for pid in "${_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${_PIDS[@]}"; do
		for ((_i = 0; _i < 100 * PFL_SLOW; _i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null || continue
		kill -9 "$pid" 2>/dev/null || true
		# a daemon that ignores SIGTERM under valgrind gives no leak check
		if [ -n "${PFL_VALGRIND:-}" ] && [ -e "$T/valgrind.$pid.log" ]; then
			echo "Bail out! preflight-milter (pid $pid) did not exit on SIGTERM within $((10 * PFL_SLOW)) s"
			_TAP_FAILED=1
			rc=1
		fi
	done
	# a sanitizer report from the daemon fails the test
	if grep -Eq 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' \
		"$T/milter.stderr" 2>/dev/null; then
		sed 's/^/# milter: /' "$T/milter.stderr" | head -60
		echo "Bail out! sanitizer report from preflight-milter"
		_TAP_FAILED=1
		rc=1
	fi
	_valgrind_check || rc=1
	[ -n "$_PORT_CLAIM" ] && rm -rf "$_PORT_CLAIM"
	if [ -n "${PFL_KEEP:-}" ] || [ "$_TAP_FAILED" != 0 ]; then
		echo "# kept $T for inspection"
	else
		rm -rf "$T"
	fi
	exit $rc
}
trap _cleanup EXIT

# _valgrind_check - a valgrind log of ours with an error fails the test:
# memcheck's count of errors at exit (invalid reads and writes, use of
# uninitialised values, bad frees and the definitely lost blocks, less
# the suppressed ones), or, for a daemon that was killed before its
# summary, any error report it printed before that
_VG_ERRORS='== (Invalid (read|write|free)|Mismatched free|Conditional jump|Use of uninitialised|Syscall param|Source and destination overlap|.* are definitely lost)'
_valgrind_check() {
	local f bad=0
	for f in "$T"/valgrind.*.log; do
		[ -e "$f" ] || continue
		if grep -Eq '== ERROR SUMMARY: [1-9]' "$f" ||
			{ ! grep -q '== ERROR SUMMARY:' "$f" && grep -Eq -- "$_VG_ERRORS" "$f"; }; then
			grep -v '^==[0-9]*== *$' "$f" | sed 's/^/# valgrind: /' | head -150
			echo "Bail out! valgrind report ($f)"
			_TAP_FAILED=1
			bad=1
		fi
	done
	return $bad
}

_track() { _PIDS+=("$1"); }

# wait_port PORT [TRIES] - until something listens on 127.0.0.1:PORT
wait_port() {
	local i
	for ((i = 0; i < ${2:-100} * PFL_SLOW; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# wait_log FILE ERE [SECONDS] - until a line of FILE matches
wait_log() {
	local i
	for ((i = 0; i < ${3:-10} * 20 * PFL_SLOW; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

require() { # require CMD... - fail (never skip) when a tool is missing
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			bail "missing $c: run tests/install-deps.sh as root"
	done
}

[ "$(id -u)" = 0 ] || bail "end-to-end tests run as root (they start Postfix)"
[ -x "$PFL_MILTER" ] || bail "no $PFL_MILTER: build first"
[ -z "${PFL_VALGRIND:-}" ] || require valgrind

# --- DNS: nsd --------------------------------------------------------------

# start_nsd - nsd on 127.0.0.1:$DNS_PORT serving tests/data/zones (also on
# $NSD_EXTRA_ADDR, "ADDR@PORT", when set; with remote control on
# $T/nsd/nsd.ctl when NSD_CONTROL is set); sets NSD_PID
start_nsd() {
	require nsd dig
	local d=$T/nsd z name
	mkdir -p "$d"
	cat >"$d/nsd.conf" <<EOF
server:
	ip-address: 127.0.0.1@$DNS_PORT
${NSD_EXTRA_ADDR:+	ip-address: $NSD_EXTRA_ADDR}
	port: $DNS_PORT
	username: ""
	chroot: ""
	zonesdir: "$d"
	database: ""
	zonelistfile: "$d/zone.list"
	xfrdfile: "$d/xfrd.state"
	xfrdir: "$d"
	pidfile: "$d/nsd.pid"
	logfile: "$d/nsd.log"
	server-count: 1
	verbosity: 1
	hide-version: yes
	refuse-any: no
remote-control:
EOF
	if [ -n "${NSD_CONTROL:-}" ]; then
		printf '\tcontrol-enable: yes\n\tcontrol-interface: %s\n' \
			"$d/nsd.ctl" >>"$d/nsd.conf"
	else
		printf '\tcontrol-enable: no\n' >>"$d/nsd.conf"
	fi
	for z in "$SRC"/tests/data/zones/*.zone; do
		[ -e "$z" ] || continue
		name=$(basename "$z" .zone)
		[ "$name" = _root ] && name=.
		printf 'zone:\n\tname: "%s"\n\tzonefile: "%s"\n' "$name" "$z" >>"$d/nsd.conf"
	done
	nsd -d -c "$d/nsd.conf" >"$d/stderr" 2>&1 &
	NSD_PID=$!
	_track $NSD_PID
	local i
	for ((i = 0; i < 100; i++)); do
		dig +short +time=1 +tries=1 -p "$DNS_PORT" @127.0.0.1 \
			SOA preflight.test >/dev/null 2>&1 &&
			[ -n "$(dig +short +time=1 +tries=1 -p "$DNS_PORT" @127.0.0.1 SOA preflight.test)" ] &&
			return 0
		sleep 0.05
	done
	cat "$d/stderr" "$d/nsd.log" 2>/dev/null | sed 's/^/# nsd: /'
	bail "nsd did not start on 127.0.0.1:$DNS_PORT"
}

# dnsq NAME TYPE - the short answer from the test DNS server
dnsq() { dig +short +time=1 +tries=1 -p "$DNS_PORT" @127.0.0.1 "$2" "$1"; }

# --- the receiving side: smtp-sink -------------------------------------------

start_sink() {
	require smtp-sink
	mkdir -p "$SINK_DIR"
	chown nobody "$SINK_DIR"
	# -d: one file per message (envelope lines first), in SINK_DIR
	smtp-sink -u nobody -c -d "$SINK_DIR/%Y%m%d%H%M%S." \
		"127.0.0.1:$SINK_PORT" 100 >"$T/sink.out" 2>&1 &
	_track $!
	wait_port "$SINK_PORT" || bail "smtp-sink did not start"
}

# sink_count - messages the sink has received
sink_count() { find "$SINK_DIR" -type f | wc -l; }

# sink_files - the received message files, oldest first
sink_files() { ls -1tr "$SINK_DIR"/* 2>/dev/null; }

# sink_find ERE - the first received message matching ERE
sink_find() {
	local f
	for f in $(sink_files); do
		grep -Eq -- "$1" "$f" && {
			echo "$f"
			return 0
		}
	done
	return 1
}

# wait_sink N [SECONDS] - until the sink holds N messages
wait_sink() {
	local i
	for ((i = 0; i < ${2:-20} * 20 * PFL_SLOW; i++)); do
		[ "$(sink_count)" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# --- preflight-milter ----------------------------------------------------------

# milter_config [LINES...] - write the milter's config file; a
# "StateStore ..." line among LINES replaces the default "memory"
milter_config() {
	local l store="StateStore memory"
	for l in "$@"; do
		case $l in StateStore*) store= ;; esac
	done
	{
		echo "Socket inet:$MILTER_PORT@127.0.0.1"
		echo "UserID nobody"
		echo "PidFile ${MILTER_PIDFILE:-$T/milter.pid}"
		echo "Syslog no"
		echo "LogFile $MILTER_LOG"
		echo "LogLevel debug"
		echo "Nameservers 127.0.0.1@$DNS_PORT"
		echo "DnsTimeout $DNS_TIMEOUT"
		[ -z "$store" ] || echo "$store"
		printf '%s\n' "$@"
	} >"$MILTER_CONF"
}

# start_milter [LINES...] - write the config and start the daemon (foreground
# mode, in the background); LINES are extra config lines
start_milter() {
	[ $# -gt 0 ] || [ ! -e "$MILTER_CONF" ] && milter_config "$@"
	: >"$MILTER_LOG"
	chown nobody "$MILTER_LOG"
	${PFL_WRAPPER:-} "$PFL_MILTER" -f -c "$MILTER_CONF" >>"$T/milter.stderr" 2>&1 &
	MILTER_PID=$!
	_track $MILTER_PID
	wait_port "$MILTER_PORT" 200 || {
		sed 's/^/# milter: /' "$T/milter.stderr"
		bail "preflight-milter did not start"
	}
}

# stop_milter - stop the daemon we started
stop_milter() {
	kill "$MILTER_PID" 2>/dev/null
	wait "$MILTER_PID" 2>/dev/null
	return 0
}

# start_blackhole PORT - a DNS server that reads every query and never
# answers, on 127.0.0.1 PORT (UDP and TCP: TCP connections are accepted
# and never read). Counts the UDP queries in $T/blackhole.log (one
# running number a line). Sets BH_PID.
start_blackhole() {
	python3 -c '
import socket, sys, select
port = int(sys.argv[1])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", port))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", port))
t.listen(64)
held = []
n = 0
log = open(sys.argv[2], "a", buffering=1)
while True:
    r, _, _ = select.select([u, t], [], [])
    if u in r:
        u.recv(65536)
        n += 1
        log.write("%d\n" % n)
    if t in r:
        held.append(t.accept()[0])  # accepted, never read, never answered
' "$1" "$T/blackhole.log" >"$T/blackhole.stderr" 2>&1 &
	BH_PID=$!
	_track $BH_PID
	wait_port "$1" || bail "the blackhole did not start"
}

# --- a private Postfix ---------------------------------------------------------

# start_postfix [key=value...] - config overrides for main.cf
start_postfix() {
	require postfix postconf swaks
	mkdir -p "$PF_CONF" "$T/postfix/queue" "$T/postfix/data"
	chown postfix "$T/postfix/data"
	cat >"$PF_CONF/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $PF_CONF
queue_directory = $T/postfix/queue
data_directory = $T/postfix/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.preflight.test
mydomain = preflight.test
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$SINK_PORT
smtp_dns_support_level = disabled
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_relay_restrictions = check_client_access static:OK, reject_unauth_destination
smtpd_recipient_restrictions =
alias_maps =
alias_database =
local_recipient_maps =
biff = no
maillog_file = $PF_LOG
maillog_file_prefixes = $T
smtpd_milters = inet:127.0.0.1:$MILTER_PORT
non_smtpd_milters = \$smtpd_milters
milter_default_action = tempfail
milter_command_timeout = 30s
delay_warning_time = 0
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
EOF
	local kv
	for kv in "$@"; do
		postconf -c "$PF_CONF" -e "$kv"
	done
	cat >"$PF_CONF/master.cf" <<EOF
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup -o cleanup_service_name=cleanup_local
cleanup   unix  n - n - 0 cleanup
cleanup_local unix n - n - 0 cleanup -o milter_macro_daemon_name=local-submit
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
	# postfix prints its errors only to a terminal: script(1) gives it one
	if ! script -qec "postfix -c '$PF_CONF' start" "$T/postfix.start" >/dev/null 2>&1; then
		sed 's/^/# postfix: /' "$T/postfix.start"
		bail "postfix did not start"
	fi
	_POSTFIX_UP=1
	wait_port "$SMTP_PORT" 200 || bail "postfix smtpd not listening on $SMTP_PORT"
}

# send ARGS... - swaks to the private Postfix; output in $T/swaks.out
send() {
	swaks --server "127.0.0.1:$SMTP_PORT" --timeout 60 "$@" >"$T/swaks.out" 2>&1
}

# local_send SENDER RCPT... < message - sendmail(1) of the private Postfix
local_send() {
	local from=$1
	shift
	sendmail -C "$PF_CONF" -f "$from" -- "$@"
}

# qid_of_last_send - the queue id Postfix gave the last swaks message
qid_of_last_send() {
	sed -n 's/.*250 2\.0\.0 Ok: queued as \([0-9A-Za-z]*\).*/\1/p' "$T/swaks.out" | tail -1
}

# wait_sent QID [SECONDS] - until Postfix logs status=sent for QID
wait_sent() { wait_log "$PF_LOG" "$1: .*status=sent" "${2:-20}"; }

# flush_queue - ask Postfix to try deferred mail now
flush_queue() { postqueue -c "$PF_CONF" -f >/dev/null 2>&1; }

# hold_queue_ids - queue ids in the hold queue
hold_queue_ids() {
	postqueue -c "$PF_CONF" -j 2>/dev/null |
		python3 -c 'import sys, json
for l in sys.stdin:
    m = json.loads(l)
    if m.get("queue_name") == "hold": print(m["queue_id"])'
}

# --- a DKIM signer in front of preflight: opendkim -------------------------------

DKIM_PORT=$((PFL_PORT_BASE + 4))

# dkim_tables DIR OWNER "PATTERN DOMAIN SELECTOR KEYFILE"... - an OpenDKIM
# KeyTable (DIR/KeyTable) and refile SigningTable (DIR/SigningTable), one
# line each per argument (PATTERN as in a refile: table, "*@example.com");
# the keys are copied into DIR/keys, mode 600, owned by OWNER (OpenDKIM
# and preflight's signer check read them)
dkim_tables() {
	local d=$1 owner=$2 e pat dom sel key n=0
	shift 2
	mkdir -p "$d/keys"
	chown "$owner" "$d" "$d/keys"
	chmod 700 "$d/keys"
	: >"$d/KeyTable"
	: >"$d/SigningTable"
	for e in "$@"; do
		read -r pat dom sel key <<<"$e"
		n=$((n + 1))
		install -m 600 -o "$owner" "$key" "$d/keys/k$n.private" ||
			bail "dkim_tables: no key $key"
		printf 'k%s %s:%s:%s\n' "$n" "$dom" "$sel" "$d/keys/k$n.private" \
			>>"$d/KeyTable"
		printf '%s k%s\n' "$pat" "$n" >>"$d/SigningTable"
	done
}

# start_opendkim "PATTERN DOMAIN SELECTOR KEYFILE"... - opendkim as a signer
# (Mode s) on 127.0.0.1:$DKIM_PORT, in the foreground as root, with the
# tables dkim_tables makes of the arguments. rsa-sha256, relaxed/relaxed
# unless $DKIM_CONF (extra opendkim.conf lines, set by the caller) says
# otherwise: a later line wins in opendkim.conf.
# RequireSafeKeys is off: the keys live under /tmp, and with it on opendkim
# tempfailed every message (451 4.7.1, reason only in syslog). Its resolver
# asks the test DNS server, but answers NXDOMAIN for .test names by itself:
# sign with domains outside .test.
start_opendkim() {
	require opendkim
	local d=$T/opendkim
	dkim_tables "$d" root "$@"
	cat >"$d/opendkim.conf" <<CONF
Mode			s
Socket			inet:$DKIM_PORT@127.0.0.1
PidFile			$d/opendkim.pid
Syslog			no
KeyTable		file:$d/KeyTable
SigningTable		refile:$d/SigningTable
InternalHosts		127.0.0.1, 192.0.2.0/24, 10.0.0.0/8
Nameservers		127.0.0.1@$DNS_PORT
Canonicalization	relaxed/relaxed
SignatureAlgorithm	rsa-sha256
RequireSafeKeys		false
${DKIM_CONF:-}
CONF
	opendkim -f -x "$d/opendkim.conf" >"$d/stderr" 2>&1 &
	DKIM_PID=$!
	_track $DKIM_PID
	wait_port "$DKIM_PORT" 200 || {
		sed 's/^/# opendkim: /' "$d/stderr"
		bail "opendkim did not start on 127.0.0.1:$DKIM_PORT"
	}
}

# start_postfix_signed [key=value...] - start_postfix with opendkim listed
# BEFORE preflight: preflight sees the DKIM-Signature opendkim just added
start_postfix_signed() {
	start_postfix "smtpd_milters=inet:127.0.0.1:$DKIM_PORT, inet:127.0.0.1:$MILTER_PORT" "$@"
}

# restart_milter [LINES...] - stop the daemon, start it with a new config
restart_milter() {
	stop_milter
	start_milter "$@"
}

# sink_header FILE NAME - the first NAME: field of a received message,
# unfolded, without the field name
sink_header() {
	awk -v name="$2" '
		/^$/ { exit }
		/^[ \t]/ { if (on) v = v " " substr($0, match($0, /[^ \t]/)); next }
		{ if (on) exit
		  if (tolower(substr($0, 1, length(name) + 1)) == tolower(name) ":") {
			on = 1; v = substr($0, length(name) + 2); sub(/^[ \t]+/, "", v) } }
		END { if (on) print v }' "$1"
}

# data_reply - the server's reply to the end of the last swaks message
# (its last line when it has several)
data_reply() {
	awk '/^ *-> \.$/ { d = 1; next }
		d && /^ *<(\*\*|-) / { sub(/^ *<(\*\*|-) +/, ""); r = $0
			if (substr(r, 4, 1) != "-") { print r; exit } }' "$T/swaks.out"
}

# milter_line ERE - the milter's decision line(s) matching ERE
milter_line() { grep -E -- "preflight: action=.*$1" "$MILTER_LOG"; }

# send_auth MAILFROM FROM RCPTS SUBJECT [SWAKS-ARGS...] - an authenticated
# submission (XCLIENT ADDR=192.0.2.77 LOGIN=alice) with From: <FROM>;
# RCPTS comma-separated
send_auth() {
	local env=$1 from=$2 rcpts=$3 subj=$4
	shift 4
	send --from "$env" --to "$rcpts" --header "From: <$from>" \
		--header "Subject: $subj" \
		--xclient-addr 192.0.2.77 --xclient-login alice "$@"
}

# wait_delivered SUBJECT - after a send: wait until Postfix delivered it;
# sets QID, MSG (the sink's file), HDR (its X-Preflight value) and LINE
# (the milter's decision line for QID); empty when not delivered
wait_delivered() {
	QID=$(qid_of_last_send)
	MSG='' HDR='' LINE=''
	[ -n "$QID" ] || return 0
	wait_sent "$QID" || return 0
	MSG=$(sink_find "^Subject: $1\$") || return 0
	HDR=$(sink_header "$MSG" X-Preflight)
	LINE=$(grep -- "$QID: preflight:" "$MILTER_LOG")
}

# postfix_milters LIST - change smtpd_milters of the running Postfix
postfix_milters() {
	postconf -c "$PF_CONF" -e "smtpd_milters=$1"
	postfix -c "$PF_CONF" reload >/dev/null 2>&1
	sleep 1 # idle smtpd processes of the old configuration go away
	wait_port "$SMTP_PORT" 200
}

# --- the same message through `preflight check-message` ------------------------

_CLI_CASES=()

# cli_remember DESC MAILFROM RCPTS FILE|- LINE - keep a case for cli_agree:
# the message (FILE is copied; "-" makes a plain one From: the MAILFROM),
# its envelope (RCPTS comma-separated), the milter's decision LINE and the
# milter's config of the moment
cli_remember() {
	local n=${#_CLI_CASES[@]}
	mkdir -p "$T/cli"
	if [ "$4" = - ]; then
		printf 'From: <%s>\nTo: %s\nSubject: %s\nDate: %s\nMessage-ID: <cli.%s@preflight.test>\n\nThis is a test mailing\n' \
			"$2" "$3" "$1" "$(date -R)" "$n" >"$T/cli/$n.eml"
	else # nothing to copy (not delivered): check-message fails the test
		cp "$4" "$T/cli/$n.eml" 2>/dev/null || : >"$T/cli/$n.eml"
	fi
	cp "$MILTER_CONF" "$T/cli/$n.conf"
	printf '%s\n' "$5" >"$T/cli/$n.line"
	_CLI_CASES+=("$1|$2|$3")
}

# auth_words LINE - "verdict=... spf=... dkim=... dmarc=... providers=..."
# and the reason="..." of a decision line
auth_words() {
	printf '%s\n' "$1" | sed -nE 's/.* (verdict=[^ ]+ spf=[^ ]+ dkim=[^ ]+ dmarc=[^ ]+ providers=[^ ]+)( .*(reason="[^"]*"))?.*/\1 \3/p'
}

# cli_agree - one test per remembered case: check-message, with that
# config, the test DNS server and the config's EgressAddresses, gives the
# milter's verdict, results and reason, and exits 0/1/2 for
# deliver/throttle/reject
cli_agree() {
	local i desc env rcpts args out rc want r ip
	for i in "${!_CLI_CASES[@]}"; do
		IFS='|' read -r desc env rcpts <<<"${_CLI_CASES[$i]}"
		args=(--mail-from "$env")
		for r in ${rcpts//,/ }; do args+=(--rcpt "$r"); done
		for ip in $(sed -n 's/^EgressAddresses //p' "$T/cli/$i.conf" | tr ',' ' '); do
			args+=(--egress-ip "$ip")
		done
		rc=0
		out=$("$PFL_CLI" check-message -c "$T/cli/$i.conf" \
			--nameserver "127.0.0.1@$DNS_PORT" "${args[@]}" "$T/cli/$i.eml" 2>&1) || rc=$?
		want=$(auth_words "$(cat "$T/cli/$i.line")")
		case $want in
		verdict=deliver*) want="$want rc=0" ;;
		verdict=throttle*) want="$want rc=1" ;;
		*) want="$want rc=2" ;;
		esac
		is "$(auth_words "$out") rc=$rc" "$want" "check-message agrees: $desc"
	done
}

# --- a second preflight-milter ---------------------------------------------------

MILTER2_PORT=$((PFL_PORT_BASE + 6))
MILTER2_CONF=$T/preflight2.conf
MILTER2_LOG=$T/milter2.log

# start_milter2 [LINES...] - a second preflight-milter, as start_milter
# makes the first, on 127.0.0.1:$MILTER2_PORT with its own config
# ($MILTER2_CONF), log ($MILTER2_LOG) and pid file; sets MILTER2_PID.
# Its stderr goes to the first one's, where a sanitizer report fails
# the test.
start_milter2() {
	local MILTER_PORT=$MILTER2_PORT MILTER_CONF=$MILTER2_CONF \
		MILTER_LOG=$MILTER2_LOG MILTER_PIDFILE=$T/milter2.pid MILTER_PID
	start_milter "$@"
	MILTER2_PID=$MILTER_PID
}

# stop_milter2 - stop the second daemon
stop_milter2() {
	kill "$MILTER2_PID" 2>/dev/null
	wait "$MILTER2_PID" 2>/dev/null
	return 0
}

# --- a shared counter store: redis-server ----------------------------------------

REDIS_PORT=$((PFL_PORT_BASE + 5))

# start_redis - Debian's redis-server on 127.0.0.1:$REDIS_PORT, in the
# foreground as root, without persistence (a restart forgets every
# count); sets REDIS_PID. Returns once it answers PING.
start_redis() {
	require redis-server redis-cli
	local d=$T/redis i
	mkdir -p "$d"
	redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize no \
		--save '' --appendonly no --dir "$d" --logfile "$d/redis.log" \
		>>"$d/stderr" 2>&1 &
	REDIS_PID=$!
	_track $REDIS_PID
	for ((i = 0; i < 100; i++)); do
		[ "$(redis PING 2>/dev/null)" = PONG ] && return 0
		sleep 0.05
	done
	cat "$d/stderr" "$d/redis.log" 2>/dev/null | sed 's/^/# redis: /'
	bail "redis-server did not start on 127.0.0.1:$REDIS_PORT"
}

# stop_redis - stop it; returns once the port is closed
stop_redis() {
	kill "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	return 0
}

# redis ARGS... - redis-cli against the test server (at most 5 s)
redis() { timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

# --- DNS blocklists: rbldnsd ------------------------------------------------------

RBL_PORT=$((PFL_PORT_BASE + 8))
RBL_DIR=$T/rbl

# start_rbldnsd ZONE:TYPE:FILE... - Debian's rbldnsd on 127.0.0.1:$RBL_PORT
# (UDP), serving each zone from a file under $RBL_DIR (write them with
# rbl_write first), logging every query to $RBL_DIR/queries.log and
# re-reading a changed file within a second. It runs as nobody (it
# refuses root). Sets RBL_PID; returns once it answers.
start_rbldnsd() {
	require rbldnsd dig
	local z args=() i
	mkdir -p "$RBL_DIR"
	chmod 755 "$RBL_DIR"
	: >"$RBL_DIR/queries.log"
	chown nobody "$RBL_DIR/queries.log"
	for z in "$@"; do args+=("$z"); done
	rbldnsd -n -q -u nobody -w "$RBL_DIR" -b "127.0.0.1/$RBL_PORT" -c 1 \
		-t 5:1:60 -l "+$RBL_DIR/queries.log" "${args[@]}" \
		>"$RBL_DIR/stderr" 2>&1 &
	RBL_PID=$!
	_track $RBL_PID
	z=${1%%:*}
	for ((i = 0; i < 100; i++)); do
		dig +time=1 +tries=1 -p "$RBL_PORT" @127.0.0.1 "2.0.0.127.$z" A \
			2>/dev/null | grep -q 'status: \(NOERROR\|NXDOMAIN\)' && return 0
		sleep 0.05
	done
	cat "$RBL_DIR/stderr" 2>/dev/null | sed 's/^/# rbldnsd: /'
	bail "rbldnsd did not start on 127.0.0.1:$RBL_PORT"
}

# rbl_write FILE - a zone file of $RBL_DIR from stdin, with a modification
# time later than any before (rbldnsd reloads a file whose time changed)
_RBL_GEN=0
rbl_write() {
	_RBL_GEN=$((_RBL_GEN + 1))
	mkdir -p "$RBL_DIR"
	cat >"$RBL_DIR/$1.tmp"
	touch -d "@$(($(date +%s) + _RBL_GEN))" "$RBL_DIR/$1.tmp"
	mv "$RBL_DIR/$1.tmp" "$RBL_DIR/$1"
}

# rblq NAME - the A answers rbldnsd gives for NAME
rblq() { dig +short +time=1 +tries=1 -p "$RBL_PORT" @127.0.0.1 "$1" A; }

# rbl_wait NAME WANT - wait (10 s at most) until NAME answers WANT ("" for
# none): after rbl_write, the file has been re-read
rbl_wait() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(rblq "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	diag "rbldnsd still answers '$(rblq "$1")' for $1, not '$2'"
	return 1
}

# --- Sendmail 8.17, run unpacked ---------------------------------------------------
#
# tests/install-deps.sh unpacks Debian's sendmail-bin/-base/-cf (never
# installed: they conflict with postfix) under PFL_SENDMAIL_ROOT. The
# daemon runs in the foreground as root, in its own mount and UTS
# namespaces (unshare -m -u): a fully qualified host name there (with a
# short one Sendmail waits 60 s before listening), and a private /dev
# whose log socket is a catcher of ours. Sendmail logs only to syslog
# (/dev/log); the catcher writes $SM_LOG. Every other sendmail command
# (mailq, a queue run, a release) runs the same way: sm_cmd.
#
# Port: offset 7 of the test's block, which t_budget_cli also uses (for
# a redis of its own); a test that starts Sendmail cannot be that one.

SENDMAIL_PORT=$((PFL_PORT_BASE + 7))
SM_ROOT=${PFL_SENDMAIL_ROOT:-/var/cache/preflight-test/sendmail/root}
SM_BIN=$SM_ROOT/usr/libexec/sendmail/sendmail
SM_DIR=$T/sendmail
SM_CF=$SM_DIR/sendmail.cf
SM_QUEUE=$SM_DIR/queue
SM_LOG=$T/sendmail.log

# _sm_files - the namespace wrapper and the syslog catcher
_sm_files() {
	cat >"$SM_DIR/ns.sh" <<'EOF'
#!/bin/bash
# ns.sh CMD... - run CMD in the namespaces unshare(1) made: a fully
# qualified host name, and a /dev of a few nodes whose log socket is
# the test's catcher. Mounts made here are private to the namespace.
set -e
d=$(dirname "$0")
hostname mta.preflight.test
mount -t tmpfs -o mode=755 tmpfs "$d/dev"
for n in null zero full random urandom tty; do
	: >"$d/dev/$n"
	mount --bind "/dev/$n" "$d/dev/$n"
done
ln -s /proc/self/fd "$d/dev/fd"
: >"$d/dev/log"
mount --bind "$d/log.sock" "$d/dev/log"
mount --rbind "$d/dev" /dev
exec "$@"
EOF
	chmod 755 "$SM_DIR/ns.sh"
	cat >"$SM_DIR/syslog.py" <<'EOF'
# syslog.py SOCKET FILE - a syslog catcher: datagrams on SOCKET, one line
# each (without the <priority>) appended to FILE
import os, re, socket, sys

sock, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock)
os.chmod(sock, 0o666)
with open(out, "ab", buffering=0) as f:
    while True:
        d = s.recv(65536).rstrip(b"\0\r\n")
        f.write(re.sub(rb"^<\d+>", b"", d) + b"\n")
EOF
}

# sm_mc [MC-LINES...] - the .mc: listen on 127.0.0.1:$SENDMAIL_PORT, the
# milter on 127.0.0.1:$MILTER_PORT (F=T: tempfail when it is down),
# everything relayed to smtp-sink, no DNS (hosts from a file of ours),
# its own queue, aliases and statistics; MC-LINES go before the mailers
sm_mc() {
	local cf=$SM_ROOT/usr/share/sendmail/cf
	cat <<EOF
divert(-1)
divert(0)dnl
include(\`$cf/m4/cf.m4')dnl
VERSIONID(\`preflight e2e')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mta.preflight.test')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
define(\`QUEUE_DIR', \`$SM_QUEUE')dnl
define(\`ALIAS_FILE', \`$SM_DIR/aliases')dnl
define(\`STATUS_FILE', \`$SM_DIR/statistics')dnl
define(\`confPID_FILE', \`$SM_DIR/sendmail.pid')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SM_DIR/service.switch')dnl
define(\`confHOSTS_FILE', \`$SM_DIR/hosts')dnl
define(\`confRUN_AS_USER', \`root')dnl
define(\`confLOG_LEVEL', \`14')dnl
define(\`confQUEUE_LA', \`1000')dnl
define(\`confREFUSE_LA', \`1000')dnl
define(\`SMART_HOST', \`[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SINK_PORT')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`nocanonify')dnl
DAEMON_OPTIONS(\`Port=$SENDMAIL_PORT, Addr=127.0.0.1, Name=MTA')dnl
INPUT_MAIL_FILTER(\`preflight', \`S=inet:$MILTER_PORT@127.0.0.1, F=T, T=S:30s;R:30s;E:1m')dnl
EOF
	printf '%s\n' "$@"
	printf '%s\n' "MAILER(\`local')dnl" "MAILER(\`smtp')dnl"
}

# sm_cmd ARGS... - the unpacked sendmail with our .cf, in namespaces like
# the daemon's (its log lines reach $SM_LOG)
sm_cmd() { unshare -m -u "$SM_DIR/ns.sh" "$SM_BIN" -C "$SM_CF" "$@"; }

# start_sendmail [MC-LINES...] - build the .cf (sm_mc) and start the
# daemon (-bD: foreground, in the background) with the syslog catcher;
# sets SENDMAIL_PID. Returns once it listens.
start_sendmail() {
	require "$SM_BIN" m4 unshare python3 swaks
	local i
	mkdir -p "$SM_DIR/dev" "$SM_QUEUE"
	chmod 700 "$SM_QUEUE"
	: >"$SM_DIR/aliases"
	: >"$SM_DIR/statistics"
	: >"$SM_LOG"
	printf 'hosts\tfiles\naliases\tfiles\n' >"$SM_DIR/service.switch"
	printf '127.0.0.1\tlocalhost\n' >"$SM_DIR/hosts"
	_sm_files
	sm_mc "$@" >"$SM_DIR/sendmail.mc"
	m4 -D_CF_DIR_="$SM_ROOT/usr/share/sendmail/cf/" \
		"$SM_ROOT/usr/share/sendmail/cf/m4/cf.m4" "$SM_DIR/sendmail.mc" \
		>"$SM_CF" 2>"$SM_DIR/m4.stderr" || {
		sed 's/^/# m4: /' "$SM_DIR/m4.stderr"
		bail "m4 could not build the Sendmail .cf"
	}
	python3 "$SM_DIR/syslog.py" "$SM_DIR/log.sock" "$SM_LOG" \
		>"$SM_DIR/syslog.stderr" 2>&1 &
	_track $!
	for ((i = 0; i < 100; i++)); do
		[ -S "$SM_DIR/log.sock" ] && break
		sleep 0.05
	done
	[ -S "$SM_DIR/log.sock" ] || bail "the syslog catcher did not start"
	unshare -m -u "$SM_DIR/ns.sh" "$SM_BIN" -bD -C "$SM_CF" \
		>"$SM_DIR/stderr" 2>&1 &
	SENDMAIL_PID=$!
	_track $SENDMAIL_PID
	wait_port "$SENDMAIL_PORT" 200 || {
		sed 's/^/# sendmail: /' "$SM_DIR/stderr" "$SM_LOG"
		bail "sendmail did not start on 127.0.0.1:$SENDMAIL_PORT"
	}
}

# send_sm ARGS... - swaks to the Sendmail daemon; output in $T/swaks.out
# (data_reply reads it)
send_sm() {
	swaks --server "127.0.0.1:$SENDMAIL_PORT" --timeout 60 "$@" >"$T/swaks.out" 2>&1
}

# sm_qid_of_last_send - the queue id Sendmail gave the last swaks message
sm_qid_of_last_send() {
	sed -n 's/.*250 2\.0\.0 \([0-9A-Za-z]*\) Message accepted for delivery.*/\1/p' \
		"$T/swaks.out" | tail -1
}

# sm_wait_sent QID [SECONDS] - until Sendmail logs stat=Sent for QID
sm_wait_sent() { wait_log "$SM_LOG" "$1: to=.*stat=Sent" "${2:-20}"; }

# sm_quarantined - queue ids of the quarantined messages (hf files)
sm_quarantined() {
	find "$SM_QUEUE" -maxdepth 1 -name 'hf*' -printf '%f\n' | sed 's/^hf//' | sort
}

# sm_release QID - take QID out of quarantine and deliver it now (a queue
# run for QID alone; no milter sees it again)
sm_release() {
	sm_cmd -qQ -qI"$1" -Q >>"$SM_DIR/release.out" 2>&1 &&
		sm_cmd -qI"$1" >>"$SM_DIR/release.out" 2>&1
}
