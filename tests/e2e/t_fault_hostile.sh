#!/bin/bash
# Hostile messages through the real Postfix, with DnsblCheckUrls yes and a
# domain list served by rbldnsd: 10,000 header fields, a 1 MB header line,
# NUL bytes in a header and the body, invalid UTF-8 in headers, 100 levels
# of multipart, a From: with 1,000 addresses. Each gets a decision line
# with a clear verdict (and its conform= word where a rule applies), the
# milter survives them (a normal message afterwards is accepted), and its
# stderr holds no sanitizer report (lib.sh checks that at exit).
. "$(dirname "$0")/lib.sh"
plan 20

SOA='$SOA 60 dbl.test. hostmaster.dbl.test. 1 60 60 600 60'
rbl_write dbl.dom <<EOF
$SOA
\$TTL 1
:127.0.1.2:Domain listed
test
shallow-link.example
deep-link.example
EOF
start_nsd
start_sink
start_rbldnsd dbl.test:dnset:dbl.dom
start_milter "Mode enforce" "EgressAddresses 192.0.2.25" \
	"Dnsbl dbl.test domain server=127.0.0.1@$RBL_PORT" "OnDomainListed tag" \
	"DnsblCheckUrls yes"
start_postfix

# hostile.py PORT CASE N - one message of CASE from hN@auth-pass.example to
# bob@gmail.com, written byte by byte (NULs and 8-bit pass as they are);
# prints the reply to the end of data
cat >"$T/hostile.py" <<'EOF'
# hostile.py PORT CASE N - one hostile message (CASE) from hN@auth-pass.example
# to bob@gmail.com in one SMTP session; prints the reply to the end of data
import sys

from rawsmtp import submit

port, case, n = int(sys.argv[1]), sys.argv[2], sys.argv[3]
frm = "h%s@auth-pass.example" % n


def base(extra=b"", subject=b"hostile", body=b"body\r\n", from_=None):
    return (b"From: " + (from_ or ("<%s>" % frm).encode()) + b"\r\n"
            b"To: <bob@gmail.com>\r\n"
            b"Subject: " + subject + b"\r\n"
            b"Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
            b"Message-ID: <" + ("%s.%s" % (case, n)).encode() + b"@auth-pass.example>\r\n"
            + extra + b"\r\n" + body)


def fields():
    return base(b"".join(b"X-Filler-%d: value %d\r\n" % (i, i) for i in range(10000)))


def longline():
    return base(b"X-Long: " + b"a" * (1024 * 1024) + b"\r\n")


def nul():
    return base(b"X-Nul: before\0after\r\n", body=b"line one\r\nnul\0here\0\r\nend\r\n")


def utf8():
    return base(b"X-Bad: \xff\xfe\xc3\x28 \xed\xa0\x80 \xf8\x88\x80\x80\x80\r\n",
                subject=b"hostile \xc3\x28\xa0\xa1 \xf0\x28\x8c\xbc",
                from_=b"\xe2\x82\x28 \xff <" + frm.encode() + b">")


def mime():
    # 100 levels of multipart; a link at level 2 and one at level 100
    depth = 100
    body = b""
    for i in range(depth):
        body += b"--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n" % (i, i + 1)
        if i == 1:
            body += (b"--b2\r\nContent-Type: text/html\r\n\r\n"
                     b"<a href=\"https://www.shallow-link.example/x\">x</a>\r\n")
    body += (b"--b%d\r\nContent-Type: text/html\r\n\r\n"
             b"<a href=\"https://www.deep-link.example/x\">x</a>\r\n" % depth)
    for i in range(depth, -1, -1):
        body += b"--b%d--\r\n" % i
    return base(b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n",
                body=body)


def manyfrom():
    addrs = b", ".join(b"<u%d@auth-pass.example>" % i for i in range(1000))
    return base(b"Sender: <" + frm.encode() + b">\r\n", from_=addrs)


def normal():
    return base()


msg = globals()[case]()
print(submit(port, b"<" + frm.encode() + b">", b"<bob@gmail.com>", msg), flush=True)
EOF

N=0
# hostile CASE - send one; sets REPLY, LINE (its decision line) and MSG
# (the received copy, once delivered)
hostile() {
	N=$((N + 1))
	REPLY=$(PYTHONPATH="$SRC/tests/e2e" python3 "$T/hostile.py" "$SMTP_PORT" "$1" "$N" 2>&1)
	LINE='' MSG=''
	wait_log "$MILTER_LOG" "preflight: action=.* from=<h$N@auth-pass\.example>" 30
	LINE=$(milter_line "from=<h$N@auth-pass\.example>")
	wait_sent "$(printf '%s' "$REPLY" | sed -n 's/^250 2\.0\.0 Ok: queued as //p')" 30
	MSG=$(sink_find "^Message-ID: <$1\.$N@auth-pass\.example>")
}
VERDICT='action=tag mode=enforce verdict=(deliver|throttle|reject) '

hostile fields
like "$REPLY $LINE" "^250 .*${VERDICT}.*conform=size .*reason=\"Gmail would refuse this \(552 5\.3\.4\): the message has 1000[0-9] header fields" \
	"10,000 header fields: 250, decision conform=size names the count"
ok "10,000 header fields: delivered (tagged)" test -n "$MSG"

hostile longline
like "$REPLY $LINE" "^250 .*${VERDICT}.*conform=([a-z0-9-]+,)*field[ ,].*reason=\"Gmail would refuse this \(550 5\.7\.1\): a line of the X-Long: header is over 998 octets" \
	"a 1 MB header line: 250, decision conform=field names the field"
ok "1 MB header line: delivered (Postfix cut it at header_size_limit)" test -n "$MSG"
is "$(awk '{ if (length($0) > m) m = length($0) } END { print (m <= 998) }' "${MSG:-/dev/null}") $(grep -c '^X-Long: aaaa' "${MSG:-/dev/null}")" "1 1" \
	"what arrives: X-Long folded into lines of at most 998 octets"

hostile nul
like "$REPLY $LINE" "^250 .*${VERDICT}spf=pass" "NUL bytes in a header and the body: 250 and a decision line"
ok "NUL bytes: delivered" test -n "$MSG"

hostile utf8
like "$REPLY $LINE" "^250 .*${VERDICT}.*conform=([a-z0-9-]+,)*8bit[ ,]" \
	"invalid UTF-8 in headers: 250, decision conform=8bit"
unlike "$LINE" $'[\x80-\xff]' "and the decision line holds no 8-bit byte"

hostile mime
like "$REPLY $LINE" "^250 .*${VERDICT}.*dnsbl=listed\(shallow-link\.example@dbl\.test\) urls=[0-9]+/[0-9]+\(capped\) finding=dnsbl" \
	"100 levels of multipart: 250, the link at level 2 is found listed, the walk says capped"
unlike "$LINE" 'deep-link' "the link at level 100 (past the depth limit) is not asked"
ok "100 levels of multipart: delivered (tagged)" test -n "$MSG"

hostile manyfrom
like "$REPLY $LINE" "^250 .*${VERDICT}.*conform=from[ ,].*reason=\"Gmail would refuse this \(550 5\.7\.1\): From: has 1000 addresses" \
	"a From: with 1,000 addresses: 250, decision conform=from names the count"
ok "1,000 addresses: delivered (tagged)" test -n "$MSG"

# the milter survived all of them
ok "the milter still runs" kill -0 "$MILTER_PID"
hostile normal
like "$REPLY $LINE" "^250 .*action=tag mode=enforce verdict=deliver spf=pass" \
	"a normal message afterwards: 250, verdict=deliver"
like "$(sink_header "${MSG:-/dev/null}" X-Preflight)" '^v=1 verdict=deliver' "and it is delivered, tagged"
is "$(grep -c 'preflight: action=' "$MILTER_LOG")" "$N" "one decision line per message"
is "$(awk '/preflight: action=/ && length($0) > 4096' "$MILTER_LOG" | wc -l)" 0 \
	"no decision line is longer than 4096 bytes"
unlike "$(cat "$PF_LOG")" 'milter .*(timeout|time out|unavailable|not responding)' \
	"Postfix never found the milter slow or gone"
