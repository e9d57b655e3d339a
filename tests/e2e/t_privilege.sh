#!/bin/bash
# Least privilege, end to end.
# 1. Started as root with UserID nobody and a unix socket in a root-owned
#    directory: the running daemon is nobody (real, effective, saved and
#    file-system ids, supplementary groups), holds no capability and
#    cannot gain any (no_new_privs); the socket is nobody's with the mode
#    UMask leaves (007 and 077 tried), the pid file is 0644 even when a
#    loose one was left behind, and a symbolic link there is not
#    followed.
# 2. Started as root without UserID it refuses, and says why; with
#    AllowRunAsRoot yes it runs.
# 3. Through the real Postfix, messages whose Subject, From display name,
#    Message-ID and envelope carry encoded CR LF, raw control bytes, ESC
#    sequences and UTF-8: the log holds no raw control byte, and each
#    delivered copy has one X-Preflight field and no field we did not
#    send (no line break was injected). The LMDB store files the daemon
#    made are 0600 and nobody's.
# 4. The systemd unit in contrib confines the daemon, and
#    systemd-analyze verify accepts it.
# (t_budget_store checks that the LMDB file is made after the drop,
# t_config_check and t_reload a bad UMask.)
. "$(dirname "$0")/lib.sh"
plan 46

require python3 setpriv

NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)
NOBODY_GROUPS=$(id -G nobody | tr ' ' '\n' | sort -n | xargs)
NOBODY_GROUP=$(id -gn nobody)
RUN=$T/run
mkdir -m 755 "$RUN"

# status_ids PID KEY - the fields of a /proc/PID/status line, one space apart
status_ids() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

# unix_config UMASK [LINES...] - a config with a unix socket in $RUN
unix_config() {
	local um=$1
	shift
	{
		echo "Socket unix:$RUN/milter.sock"
		echo "UMask $um"
		echo "PidFile $RUN/milter.pid"
		echo "Syslog no"
		echo "LogFile $MILTER_LOG"
		echo "LogLevel debug"
		echo "Nameservers 127.0.0.1@$DNS_PORT"
		echo "StateStore memory"
		printf '%s\n' "$@"
	} >"$MILTER_CONF"
}

# start_unix - the daemon on the unix socket of $MILTER_CONF; MILTER_PID
start_unix() {
	: >"$MILTER_LOG"
	chown nobody "$MILTER_LOG"
	${PFL_WRAPPER:-} "$PFL_MILTER" -f -c "$MILTER_CONF" >>"$T/milter.stderr" 2>&1 &
	MILTER_PID=$!
	_track $MILTER_PID
	wait_log "$MILTER_LOG" "starting: socket=unix:" $((10 * ${PFL_SLOW:-1})) || {
		sed 's/^/# milter: /' "$T/milter.stderr"
		bail "preflight-milter did not start on unix:$RUN/milter.sock"
	}
}

# can_connect USER - can USER (its own groups only) connect to the socket?
can_connect() {
	setpriv --reuid="$1" --regid="$(id -g "$1")" --init-groups \
		python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])' "$RUN/milter.sock" 2>/dev/null
}

# --- 1. UserID nobody, a unix socket in a root-owned directory ---------------

unix_config 007 "UserID nobody"
start_unix
P=$MILTER_PID
is "$(stat -c '%U %a' "$RUN")" "root 755" "the socket's directory is root's, mode 755"
u=$NOBODY_UID g=$NOBODY_GID
is "$(status_ids $P Uid)" "$u $u $u $u" \
	"UserID nobody: real, effective, saved and file-system uid are nobody's"
is "$(status_ids $P Gid)" "$g $g $g $g" \
	"real, effective, saved and file-system gid are nobody's group"
is "$(status_ids $P Groups | tr ' ' '\n' | sort -n | xargs)" "$NOBODY_GROUPS" \
	"the supplementary groups are nobody's, none of root's"
is "$(status_ids $P CapInh) $(status_ids $P CapPrm) $(status_ids $P CapEff) $(status_ids $P CapAmb)" \
	"0000000000000000 0000000000000000 0000000000000000 0000000000000000" \
	"no capability is left: inheritable, permitted, effective, ambient"
is "$(status_ids $P NoNewPrivs)" 1 "no_new_privs is set: no exec can gain privileges"
is "$(stat -c '%A %U %G' "$RUN/milter.sock")" "srwxrwx--- nobody $NOBODY_GROUP" \
	"UMask 007: the socket is nobody's, srwxrwx---"
ok "root can connect to the socket" can_connect root
ok "a user outside nobody's group cannot" eval '! can_connect daemon'
is "$(cat "$RUN/milter.pid" 2>&1)" "$P" "the pid file holds the daemon's pid"
is "$(stat -c '%a %U' "$RUN/milter.pid")" "644 root" \
	"the pid file is mode 644, written as root before the drop"
stop_milter

# a pid file left behind with a loose mode is tightened; UMask 077
chmod 666 "$RUN/milter.pid"
unix_config 077 "UserID nobody"
start_unix
P=$MILTER_PID
is "$(stat -c '%A %U %G' "$RUN/milter.sock")" "srwx------ nobody $NOBODY_GROUP" \
	"UMask 077: the socket is srwx------"
is "$(status_ids $P Uid) $(status_ids $P CapEff)" "$u $u $u $u 0000000000000000" \
	"UMask 077: the daemon is nobody, without capabilities"
is "$(stat -c '%a' "$RUN/milter.pid") $(cat "$RUN/milter.pid")" "644 $P" \
	"a pid file left with mode 666 is rewritten with mode 644"
stop_milter

# a pid file that is a symbolic link is not followed
echo keep >"$T/victim"
rm -f "$RUN/milter.pid"
ln -s "$T/victim" "$RUN/milter.pid"
start_unix
is "$(cat "$T/victim")" keep "a pid file that is a symbolic link is not written through"
like "$(cat "$MILTER_LOG")" "cannot write $RUN/milter\.pid: " "the daemon says so and runs on"
stop_milter

# --- 2. root without UserID -------------------------------------------------------

rm -f "$RUN"/milter.*
unix_config 007
: >"$MILTER_LOG"
rc=0
out=$(timeout $((20 * ${PFL_SLOW:-1})) ${PFL_WRAPPER:-} "$PFL_MILTER" -f -c "$MILTER_CONF" 2>&1) || rc=$?
is "$rc" 77 "no UserID, started as root: exits 77 (EX_NOPERM)"
like "$out" "refusing to run as root: set UserID \(or AllowRunAsRoot yes\)" \
	"and says why on standard error"
like "$(cat "$MILTER_LOG")" "refusing to run as root" "and in its log"
is "$(ls -A "$RUN")" "" "and leaves nothing behind: no socket, no pid file"

unix_config 007 "AllowRunAsRoot yes"
start_unix
is "$(status_ids $MILTER_PID Uid)" "0 0 0 0" "AllowRunAsRoot yes: it starts, and runs as root"
stop_milter

# --- 3. hostile header text through Postfix ----------------------------------

# hostile.py PORT CASE N - one message of CASE from pN@auth-pass.example to
# bob@gmail.com, authenticated (XCLIENT), written byte by byte; prints the
# reply to the end of data (or to the first refused command)
cat >"$T/hostile.py" <<'PY'
import sys

from rawsmtp import submit

port, case, n = int(sys.argv[1]), sys.argv[2], sys.argv[3]
frm = "p%s@auth-pass.example" % n
env = "<%s>" % frm


def msg(from_, subject, msgid, extra=b""):
    return (b"From: " + from_ + b"\r\n"
            b"To: <bob@gmail.com>\r\n"
            b"Subject: " + subject + b"\r\n"
            b"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
            b"Message-ID: " + msgid + b"\r\n"
            b"X-Case: priv" + n.encode() + b"\r\n"
            + extra + b"\r\n"
            b"body\r\n")


ESC = b"\x1b[31mred\x1b[0m \x1b]0;title\x07"
CTL = b"\x01\x02\x08\x0b\x0c\x7f"
UTF8 = "caf\u00e9 \u2603".encode()
if case == "encoded":
    # CR LF and a field of our own, encoded in every place RFC 2047 allows
    # (and in one it does not: the Message-ID)
    m = msg(b"=?utf-8?q?Evil=0D=0AX-Injected=3A_from?= <" + frm.encode() + b">",
            b"=?utf-8?q?hi=0D=0AX-Injected:_yes?= =?utf-8?b?DQpYLUluamVjdGVkOiBiNjQ=?=",
            b"<=?utf-8?q?m=0D=0AX-Injected:_msgid?=." + n.encode() + b"@auth-pass.example>")
elif case == "raw":
    # raw ESC sequences, control bytes and UTF-8 in the same fields
    m = msg(b"\"" + ESC + CTL + b" " + UTF8 + b"\" <" + frm.encode() + b">",
            b"raw " + ESC + b" " + CTL + b" " + UTF8,
            b"<=?utf-8?q?" + ESC + b"?=." + n.encode() + b"@auth-pass.example>",
            b"X-Ctl: " + ESC + CTL + UTF8 + b"\r\n")
elif case == "nxfrom":
    # a From: domain that does not exist, named in the reason we write
    m = msg(b"=?utf-8?q?x=0D=0AX-Injected=3A_nx?= <" + frm.encode().replace(
            b"auth-pass.example", b"nx-" + n.encode() + b".auth-pass.example") + b">",
            b"nx " + ESC, b"<nx." + n.encode() + b"@auth-pass.example>")
elif case == "envelope":
    # control bytes in the envelope sender
    env = "<\"p%s\x1b[31m\x01\x7f\"@auth-pass.example>" % n
    m = msg(b"<" + frm.encode() + b">", b"envelope", b"<env." + n.encode() + b"@auth-pass.example>")
print(submit(port, env.encode(), b"<bob@gmail.com>", m), flush=True)
PY

# hostile CASE - send one; sets REPLY, LINE (its decision line) and MSG
# (the received copy, once delivered); QUEUED counts the messages queued
N=0 QUEUED=0
hostile() {
	local qid
	N=$((N + 1))
	REPLY=$(PYTHONPATH="$SRC/tests/e2e" python3 "$T/hostile.py" "$SMTP_PORT" "$1" "$N" 2>&1)
	qid=$(printf '%s' "$REPLY" | sed -n 's/^250 2\.0\.0 Ok: queued as //p')
	LINE='' MSG=''
	[ -n "$qid" ] || return 0
	QUEUED=$((QUEUED + 1))
	wait_sent "$qid" 30
	LINE=$(grep -a -- "$qid: preflight: action=" "$MILTER_LOG")
	MSG=$(sink_find "^X-Case: priv$N\$")
}

# header_block FILE - the header section of a received message
header_block() { awk '/^\r?$/ { exit } { print }' "$1"; }

# well_formed FILE - every header line starts a field (a name of printable
# characters but ':', then ':') or continues one (white space); exactly one
# X-Preflight field, whose value is printable ASCII
well_formed() {
	header_block "$1" | LC_ALL=C grep -Ev '^([!-9;-~]+:|[[:blank:]])' && return 1
	[ "$(header_block "$1" | grep -c '^X-Preflight:')" = 1 ] || return 1
	! sink_header "$1" X-Preflight | LC_ALL=C grep -q '[^ -~]'
}

mkdir -m 700 "$T/state"
chown nobody "$T/state"
start_nsd
start_sink
start_milter "Mode tag" "EgressAddresses 192.0.2.25" \
	"StateStore lmdb:$T/state/state.lmdb" "Budget google sender-domain 100/1h"
start_postfix

for c in encoded raw nxfrom; do
	hostile $c
	like "$REPLY" '^250 ' "$c: accepted"
	like "$LINE" "action=tag .*from=<p$N@auth-pass\.example>" "$c: one decision line"
	ok "$c: delivered with one well-formed X-Preflight field" well_formed "${MSG:-/dev/null}"
	is "$(grep -ac '^X-Injected' "${MSG:-/dev/null}")" 0 "$c: no X-Injected field arrived"
done
like "$LINE" 'reason="[^"]*From: domain nx-3\.auth-pass\.example does not exist' \
	"nxfrom: the reason we write names the From: domain"

hostile envelope
like "$REPLY" '^250 ' "a sender with control bytes: accepted"
like "$LINE" 'action=tag .*from=<"p4\?\[31m\?\?"@auth-pass\.example>' \
	"its decision line shows the sender made printable"
ok "delivered with one well-formed X-Preflight field" well_formed "${MSG:-/dev/null}"

is "$(grep -ac 'preflight: action=' "$MILTER_LOG")" "$QUEUED" \
	"one decision line for each message"
is "$(LC_ALL=C grep -acP '[\x00-\x08\x0b-\x1f\x7f]' "$MILTER_LOG")" 0 \
	"the milter's log holds no raw control byte (ESC included)"
is "$(LC_ALL=C grep -ac '[^ -~]' "$MILTER_LOG")" 0 "nor any byte outside printable ASCII"
is "$(stat -c '%a %U' "$T/state/state.lmdb" "$T/state/state.lmdb-lock" 2>&1 | xargs)" \
	"600 nobody 600 nobody" \
	"the LMDB store and its lock file are mode 600, nobody's"

# --- 4. the systemd unit ------------------------------------------------------------

UNIT=$SRC/contrib/systemd/preflight-milter.service
# unit_value KEY - the value of KEY= in the unit (the last one, which wins)
unit_value() { sed -n "s/^$1=//p" "$UNIT" | tail -1; }
is "$(unit_value NoNewPrivileges) $(unit_value ProtectSystem) $(unit_value CapabilityBoundingSet)|" \
	"yes strict |" "the unit: NoNewPrivileges=yes, ProtectSystem=strict, no capabilities"
is "$(unit_value RestrictAddressFamilies)" "AF_UNIX AF_INET AF_INET6" \
	"the unit: RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"
is "$(grep -E '^(ReadWritePaths|RuntimeDirectory|StateDirectory|LogsDirectory)=' "$UNIT" | xargs)" \
	"RuntimeDirectory=preflight StateDirectory=preflight LogsDirectory=preflight ReadWritePaths=-/var/spool/postfix/preflight" \
	"the unit writes only to its socket, store and log directories"
is "$(unit_value User) $(unit_value UMask)" "preflight 0027" \
	"the unit: runs as preflight, UMask 0027"
if command -v systemd-analyze >/dev/null 2>&1; then
	# a copy that starts the built daemon, with the manual pages of this
	# tree on MANPATH for its Documentation= lines
	mkdir -p "$T/unit" "$T/man/man1" "$T/man/man5" "$T/man/man8"
	cp "$SRC/milter/preflight.1" "$T/man/man1/"
	cp "$SRC/milter/preflight.conf.5" "$T/man/man5/"
	cp "$SRC/milter/preflight-milter.8" "$T/man/man8/"
	sed "s|/usr/local/sbin/preflight-milter|$(cd "$(dirname "$PFL_MILTER")" && pwd)/preflight-milter|g" \
		"$UNIT" >"$T/unit/preflight-milter.service"
	rc=0
	out=$(cd "$T/unit" && MANPATH=$T/man systemd-analyze verify \
		"$T/unit/preflight-milter.service" 2>&1) || rc=$?
	is "$rc|$out" "0|" "systemd-analyze verify accepts the unit"
elif [ "${CI:-}" = true ]; then
	ok "systemd-analyze is installed" false
else
	echo "ok $((_TAP_N + 1)) # SKIP no systemd-analyze"
	_TAP_N=$((_TAP_N + 1))
fi
