#!/bin/bash
# t_dkim_exact - preflight verifies the header bytes the receiver gets.
# opendkim signs BEFORE preflight with c=simple/simple, which hashes every
# header field exactly as written; the message writes its Subject: without
# a space after the colon and other fields with odd white space. Postfix
# passes a milter the value without the one space after the colon unless
# the milter asks for SMFIP_HDR_LEADSPC; preflight asks, so it sees what
# opendkim signed and what the receiver will see: dkim=pass. Then
# check-message and dkim-verify on the delivered copy (without our
# X-Preflight and the sink's lines) agree with the milter.
# Keys: tests/data/dkim/auth; zone: tests/data/zones/auth-pass.example.zone.
. "$(dirname "$0")/lib.sh"
plan 12

KEYS=$SRC/tests/data/dkim/auth
EGRESS="EgressAddresses 192.0.2.25, 2001:db8::25"

# the signer: c=simple/simple, signing the odd fields of the message too
DKIM_CONF="Canonicalization	simple/simple
SignHeaders		*,+X-Odd,+X-Tab,+X-Folded"

start_nsd
start_sink
start_milter "Mode enforce" "$EGRESS"
start_opendkim "*@auth-pass.example auth-pass.example a $KEYS/a.private"
start_postfix_signed

# the message, written with the white space a simple signature must keep
printf '%s\n' \
	'From: <x1@auth-pass.example>' \
	'To: bob@gmail.com' \
	'Subject:no-space' \
	'X-Odd:   three spaces' \
	"X-Tab:	tab" \
	"X-Folded:	one" \
	"	 two" \
	'Date: Fri, 28 Nov 2025 08:00:00 +0000' \
	'Message-ID: <exact-1@auth-pass.example>' \
	'' \
	'A body.' >"$T/exact.eml"
send --from x1@auth-pass.example --to bob@gmail.com --data "@$T/exact.eml" \
	--xclient-addr 192.0.2.77 --xclient-login alice
like "$(data_reply)" "^250 2\.0\.0 Ok: queued" "accepted"
QID=$(qid_of_last_send)
wait_sent "$QID"
MSG=$(sink_find '^Subject:no-space')
LINE=$(grep -- "$QID: preflight:" "$MILTER_LOG")
ok "delivered with the Subject as written (no space after the colon)" \
	test -n "$MSG"
ok "delivered with X-Odd as written (three spaces)" \
	grep -q '^X-Odd:   three spaces' "$MSG"
SIG=$(sink_header "$MSG" DKIM-Signature)
like "$SIG" "c=simple/simple; d=auth-pass\.example; s=a;" \
	"opendkim signed with c=simple/simple"
like "$(printf '%s' "$SIG" | tr -d ' \t')" "h=([^;]*:)?Subject(:[^;]*)?;" \
	"the signature covers Subject"
like "$(printf '%s' "$SIG" | tr -d ' \t')" "h=[^;]*:X-Odd:X-Tab:X-Folded" \
	"the signature covers the fields with odd white space"
like "$LINE" "$QID: preflight: action=tag mode=enforce verdict=deliver spf=pass\(ip4:192\.0\.2\.25\) dkim=pass\(d=auth-pass\.example\) dmarc=pass\(p=reject\) providers=google:deliver from=<x1@auth-pass\.example> rcpts=1 " \
	"decision line: dkim=pass, the receiver's result"
is "$(sink_header "$MSG" X-Preflight)" \
	"v=1 verdict=deliver spf=pass(ip4:192.0.2.25) dkim=pass(d=auth-pass.example) dmarc=pass(p=reject) providers=google:deliver host=mta.preflight.test" \
	"X-Preflight says dkim=pass"
is "$(grep -c '^X-Preflight: v=1 ' "$MSG")" 1 \
	"X-Preflight is written with one space after the colon"

# the delivered copy as the receiver got it, without the sink's envelope
# lines, the sink's Received and our X-Preflight: check-message and
# dkim-verify agree with the milter
awk 'function flush() {
		if (f !~ /^(X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args|Preflight):)/ &&
		    !(f ~ /^Received:/ && f ~ /by smtp-sink \(smtp-sink\)/))
			printf "%s", f
		f = ""
	}
	h { print; next }
	/^[ \t]/ { f = f $0 "\n"; next }
	{ flush() }
	/^\r?$/ { h = 1; print; next }
	{ f = $0 "\n" }
	END { flush() }' "$MSG" >"$T/delivered.eml"
is "$(grep -Ec '^(X-Preflight|X-Client-Addr|Received: from mta\.preflight\.test|Subject:no-space$|DKIM-Signature)' "$T/delivered.eml")" 2 \
	"the copy for the CLI: our and the sink's lines gone, Subject and signature kept"
cli_remember "exact header bytes" x1@auth-pass.example bob@gmail.com \
	"$T/delivered.eml" "$LINE"
cli_agree
rc=0
out=$("$PFL_CLI" dkim-verify --nameserver "127.0.0.1@$DNS_PORT" "$T/delivered.eml" 2>&1) || rc=$?
like "$out rc=$rc" "^pass d=auth-pass\.example s=a .* rc=0\$" \
	"dkim-verify on the delivered copy: pass"
