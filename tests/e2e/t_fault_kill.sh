#!/bin/bash
# The milter SIGKILLed in the middle of a message, with Postfix's
# milter_default_action = tempfail: the client gets a 4xx, nothing is
# delivered unfiltered; once the milter is restarted the client's retry
# is delivered exactly once. The same for a local submission
# (sendmail(1), pickup): it waits in the queue while the milter is down
# and is delivered exactly once after it is back.
. "$(dirname "$0")/lib.sh"
plan 13

# copies ERE - how many received messages match ERE
copies() {
	local f n=0
	for f in $(sink_files); do
		grep -Eq -- "$1" "$f" && n=$((n + 1))
	done
	echo $n
}

# queue_empty - Postfix's queue holds nothing
queue_empty() { [ -z "$(postqueue -c "$PF_CONF" -j 2>/dev/null)" ]; }

# wait_queue_empty [SECONDS]
wait_queue_empty() {
	local i
	for ((i = 0; i < ${1:-30} * 10; i++)); do
		queue_empty && return 0
		sleep 0.1
	done
	return 1
}

start_nsd
start_sink
start_milter "Mode tag"
start_postfix "milter_default_action=tempfail"
is "$(postconf -c "$PF_CONF" -h milter_default_action)" tempfail \
	"Postfix runs with milter_default_action = tempfail"

# --- 1. SMTP: killed between the first and the second half of the body ----------
# client.py MSGID - one message in one session; prints the reply to RCPT,
# then waits for a line on stdin after half of the body, then prints the
# reply to the end of data (code and text)
cat >"$T/client.py" <<'EOF'
import socket, sys

port, msgid = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=60)
f = s.makefile("rb")

def reply():
    lines = []
    while True:
        l = f.readline().decode("latin-1").rstrip("\r\n")
        lines.append(l)
        if len(l) < 4 or l[3] != "-":
            return lines[-1]

def cmd(c):
    s.sendall(c.encode() + b"\r\n")
    return reply()

reply()
cmd("EHLO client.example")
cmd("XCLIENT ADDR=192.0.2.77 LOGIN=alice")
cmd("EHLO client.example")
cmd("MAIL FROM:<a@example.com>")
print(cmd("RCPT TO:<b@example.net>"), flush=True)
print(cmd("DATA"), flush=True)
head = ("From: <a@example.com>\r\nTo: <b@example.net>\r\n"
        "Subject: killed mid-data\r\nMessage-ID: <%s>\r\n\r\n" % msgid)
line = "x" * 70 + "\r\n"
s.sendall(head.encode() + (line * 2000).encode())
sys.stdin.readline()
s.sendall((line * 2000).encode() + b".\r\n")
print(reply(), flush=True)
try:
    cmd("QUIT")
except OSError:
    pass
EOF
MSGID="kill.$$.$(date +%s)@example.com"
coproc CLIENT { python3 "$T/client.py" "$SMTP_PORT" "$MSGID" 2>&1; }
read -r -t 60 rcpt <&"${CLIENT[0]}"
read -r -t 60 data <&"${CLIENT[0]}"
is "${rcpt:-} | ${data:-}" "250 2.1.5 Ok | 354 End data with <CR><LF>.<CR><LF>" \
	"the client is in the middle of DATA"
kill -9 "$MILTER_PID"
wait "$MILTER_PID" 2>/dev/null
echo go >&"${CLIENT[1]}"
read -r -t 60 eod <&"${CLIENT[0]}"
like "${eod:-}" '^4[0-9][0-9] 4\.[0-9]\.[0-9]' \
	"milter SIGKILLed mid-DATA: the client gets a 4xx at the end of data"
wait "${CLIENT_PID:-}" 2>/dev/null # unset once bash has reaped it
wait_queue_empty 10
is "$(copies "^Message-ID: <$MSGID>")" 0 "nothing was delivered unfiltered"

start_milter
# the retry of the same message, in one go
coproc CLIENT { python3 "$T/client.py" "$SMTP_PORT" "$MSGID" 2>&1; }
read -r -t 60 rcpt <&"${CLIENT[0]}"
read -r -t 60 data <&"${CLIENT[0]}"
echo go >&"${CLIENT[1]}"
read -r -t 60 eod <&"${CLIENT[0]}"
wait "${CLIENT_PID:-}" 2>/dev/null # unset once bash has reaped it
like "${eod:-}" '^250 2\.0\.0 Ok: queued as' "after a restart the retry gets 250"
wait_log "$PF_LOG" 'status=sent' 20
wait_queue_empty 30
is "$(copies "^Message-ID: <$MSGID>")" 1 "the message is delivered exactly once"
like "$(sink_header "$(sink_find "^Message-ID: <$MSGID>")" X-Preflight)" \
	'v=1' "and it was filtered (X-Preflight)"

# --- 2. SMTP: killed while sessions of a run of 40 are open -------------------------
# 4 sessions at a time; the milter dies while they run.
# Each message is either queued (250) or refused with a 4xx; the refused
# ones are sent again after the restart; each arrives exactly once.
base=$(sink_count)
# src.py COUNT TAG - COUNT messages, one session each, 4 at a time; one
# line per message: "N CODE"
cat >"$T/src.py" <<'EOF'
import smtplib, sys, threading

port, count, tag, only = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
lock = threading.Lock()

def one(n):
    msg = ("From: <a@example.com>\r\nTo: <b@example.net>\r\nSubject: %s %d\r\n"
           "Message-ID: <%s.%d@example.com>\r\n\r\n" % (tag, n, tag, n)
           + "body line\r\n" * 2000)
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=60)
        s.ehlo("client.example")
        s.docmd("XCLIENT", "ADDR=192.0.2.77 LOGIN=alice")
        s.ehlo("client.example")
        code = s.mail("a@example.com")[0]
        if code == 250:
            code = s.rcpt("b@example.net")[0]
        if code == 250:
            code = s.data(msg.encode())[0]
        s.quit()
    except smtplib.SMTPResponseException as e:
        code = e.smtp_code
    except Exception as e:
        code = "ERR"
    with lock:
        print(n, code, flush=True)

todo = [int(x) for x in only] if only else list(range(1, count + 1))
ts = []
for n in todo:
    t = threading.Thread(target=one, args=(n,))
    t.start()
    ts.append(t)
    if len(ts) >= 4:
        ts.pop(0).join()
for t in ts:
    t.join()
EOF
TAG="burst$$"
python3 "$T/src.py" "$SMTP_PORT" 40 "$TAG" >"$T/src1.out" 2>&1 &
SRC_PID=$!
_track $SRC_PID
wait_log "$T/src1.out" '^10 ' 60
kill -9 "$MILTER_PID"
wait "$MILTER_PID" 2>/dev/null
wait "$SRC_PID" 2>/dev/null
refused=$(awk '$2 != 250 { print $1 }' "$T/src1.out")
is "$(awk '$2 != 250 && $2 !~ /^4[0-9][0-9]$/' "$T/src1.out" | wc -l) $(wc -l <"$T/src1.out")" "0 40" \
	"milter killed during a run of 40: each message got 250 or a 4xx"
ok "some were refused while it was down" test -n "$refused"
start_milter
python3 "$T/src.py" "$SMTP_PORT" 40 "$TAG" $refused >"$T/src2.out" 2>&1
is "$(awk '$2 != 250' "$T/src2.out" | wc -l)" 0 "after the restart each refused one is queued on retry"
wait_sink $((base + 40)) 60
wait_queue_empty 30
bad=''
for ((n = 1; n <= 40; n++)); do
	c=$(copies "^Message-ID: <$TAG\.$n@example\.com>")
	[ "$c" = 1 ] || bad="$bad $n:$c"
done
is "$bad" "" "each of the 40 messages arrived exactly once"

# --- 3. a local submission while the milter is down ---------------------------------
kill -9 "$MILTER_PID"
wait "$MILTER_PID" 2>/dev/null
LID="local.$$@example.com"
printf 'From: <a@example.com>\nTo: <b@example.net>\nSubject: local while down\nMessage-ID: <%s>\n\nbody\n' "$LID" |
	local_send a@example.com b@example.net
ok "the local submission is refused for now while the milter is down (pickup keeps it)" \
	wait_log "$PF_LOG" 'cleanup\[[0-9]+\]: [0-9A-Z]+: milter-reject: CONNECT from localhost\[127\.0\.0\.1\]: 4\.7\.1 .*from=<a@example\.com>' 30
start_milter
for ((i = 0; i < 300; i++)); do
	[ "$(copies "^Message-ID: <$LID>")" -ge 1 ] && break
	flush_queue
	sleep 0.2
done
wait_queue_empty 30
is "$(copies "^Message-ID: <$LID>")" 1 \
	"a local submission made while the milter was down is delivered exactly once after the restart"
