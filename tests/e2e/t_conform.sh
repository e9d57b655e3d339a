#!/bin/bash
# t_conform - the RFC 5322 shape of outbound mail and RFC 8058 one-click
# unsubscribe, through the real Postfix with opendkim signing before
# preflight. Malformed messages (two From: fields, a duplicated Subject:,
# an invalid Message-ID:, raw 8-bit in a header without SMTPUTF8, a From:
# domain that does not exist) are deferred at end of data (OnMalformed
# defer) with Gmail's predicted 550 5.7.1 in the reply and the log; a
# well-formed message passes. Bulk mail: both one-click fields signed is
# clean; List-Unsubscribe-Post left out of h= (opendkim's default header
# list) is the finding; a mailto-only List-Unsubscribe is a finding;
# transactional mail without unsubscribe fields is no finding.
. "$(dirname "$0")/lib.sh"
plan 24

KEYS=$SRC/tests/data/dkim/auth
start_nsd
start_sink
start_milter "Mode enforce" "EgressAddresses 192.0.2.25" \
	"OnMalformed defer" "OnUnsubscribeMissing tag"
start_opendkim "*@auth-pass.example auth-pass.example a $KEYS/a.private"
start_postfix_signed

# send_msg SUBJECT FILE - a whole message (headers as written) from
# auth-pass.example to gmail.com; the reply to DATA is in data_reply
send_msg() {
	send --from c@auth-pass.example --to bob@gmail.com --xclient-addr 192.0.2.77 \
		--xclient-login alice --data "$2"
}
# msg FILE HEADER-LINES... - write a message: the lines, a blank line, a body
msg() {
	local f=$1
	shift
	{
		printf '%s\n' "$@"
		printf '\nHello.\n'
	} >"$f"
}
OK_HDRS=("Date: $(date -R)" "To: <bob@gmail.com>")

# 1. a well-formed message passes
msg "$T/good.eml" "From: <c@auth-pass.example>" "${OK_HDRS[@]}" \
	"Message-ID: <good.1@auth-pass.example>" "Subject: well formed"
send_msg "well formed" "$T/good.eml"
like "$(data_reply)" '^250 2\.0\.0 Ok: queued' "a well-formed message is accepted"
wait_delivered "well formed"
unlike "$HDR" 'conform=' "and X-Preflight names no conformance rule"

# 2. two From: fields
msg "$T/twofrom.eml" "From: <c@auth-pass.example>" "From: <d@auth-pass.example>" \
	"${OK_HDRS[@]}" "Message-ID: <two.1@auth-pass.example>" "Subject: two from"
send_msg "two from" "$T/twofrom.eml"
like "$(data_reply)" '^451 4\.7\.1 preflight: Gmail would refuse this \(550 5\.7\.1\): the message has 2 From: ' \
	"two From: fields: deferred at end of data with Gmail's 550 5.7.1 named"
like "$(grep 'preflight: action=defer' "$MILTER_LOG" | tail -1)" 'conform=from finding=conform reason="Gmail would refuse this \(550 5\.7\.1\)' \
	"the decision line names the rule"

# 3. a duplicated Subject:
msg "$T/dupsubj.eml" "From: <c@auth-pass.example>" "${OK_HDRS[@]}" \
	"Message-ID: <dup.1@auth-pass.example>" "Subject: dup one" "Subject: dup two"
send_msg "dup" "$T/dupsubj.eml"
like "$(data_reply)" '^451 4\.7\.1 preflight: Gmail would refuse this \(550 5\.7\.1\): .*Subject' \
	"a duplicated Subject: is deferred, the field named"

# 4. an invalid Message-ID:
msg "$T/badid.eml" "From: <c@auth-pass.example>" "${OK_HDRS[@]}" \
	"Message-ID: no-angle-brackets" "Subject: bad id"
send_msg "bad id" "$T/badid.eml"
like "$(data_reply)" '^451 4\.7\.1 preflight: Gmail would refuse this \(550 5\.7\.1\): .*Message-ID' \
	"an invalid Message-ID: is deferred"

# 5. raw 8-bit in Subject: without SMTPUTF8
msg "$T/8bit.eml" "From: <c@auth-pass.example>" "${OK_HDRS[@]}" \
	"Message-ID: <8bit.1@auth-pass.example>" "$(printf 'Subject: caf\xc3\xa9')"
send_msg "8bit" "$T/8bit.eml"
like "$(data_reply)" '^451 4\.7\.1 preflight: Gmail would refuse this \(550 5\.7\.1\): .*(8-bit|non-ASCII|SMTPUTF8)' \
	"raw 8-bit in Subject: without SMTPUTF8 is deferred"

# 6. a From: domain that does not exist
msg "$T/nxfrom.eml" "From: <c@no-such-domain.example>" "${OK_HDRS[@]}" \
	"Message-ID: <nx.1@auth-pass.example>" "Subject: nx from"
send_msg "nx from" "$T/nxfrom.eml"
like "$(data_reply)" '^451 4\.7\.1 preflight: Gmail and Yahoo would refuse this \(550 5\.7\.1\): the From: domain no-such-domain\.example does not exist in DNS' \
	"a From: domain that does not exist is deferred"

# 7. every other rule, each deferred with its conform= word in the decision line
# rule_case DESC WORD HEADER-LINES... - a message with these header lines
# (From:, Date:, Message-ID: and Subject: as given) is deferred for WORD
rule_case() {
	local desc=$1 word=$2
	shift 2
	msg "$T/rule.eml" "To: <bob@gmail.com>" "$@"
	send_msg "$desc" "$T/rule.eml"
	like "$(data_reply) / $(grep 'preflight: action=defer' "$MILTER_LOG" | tail -1)" \
		"^451 4\.[0-9]\.[0-9]+ preflight: Gmail (and Yahoo )?would refuse this \(5[0-9][0-9] 5\.[0-9]\.[0-9]+\).* / .* conform=([a-z0-9-]+,)*$word[ ,]" \
		"$desc: deferred, conform=$word"
}
D="Date: $(date -R)"
rule_case "two addresses in From:" from \
	"From: <c@auth-pass.example>, <d@auth-pass.example>" "$D" \
	"Message-ID: <r1@auth-pass.example>" "Subject: r1"
rule_case "a From: domain that is not a domain name" from \
	"From: <c@auth_pass..example>" "$D" "Message-ID: <r2@auth-pass.example>" "Subject: r2"
# Postfix's cleanup adds a missing Message-Id: and Date: before the milter
# reads the header section: the receiver gets them, so no finding
msg "$T/rule.eml" "To: <bob@gmail.com>" "From: <c@auth-pass.example>" "Subject: r3"
send_msg "r3" "$T/rule.eml"
like "$(data_reply)" '^250 2\.0\.0 Ok: queued' \
	"no Message-ID: and no Date: through Postfix: accepted (Postfix adds them)"
wait_delivered "r3"
like "$(grep -c -E '^(Message-I[dD]|Date):' "$MSG") $LINE" '^2 .*verdict=deliver' \
	"the receiver gets both, and the decision line has no conformance finding"
rule_case "an unparsable Date:" date \
	"From: <c@auth-pass.example>" "Date: yesterday at noon" \
	"Message-ID: <r5@auth-pass.example>" "Subject: r5"
rule_case "a header line over 998 octets" field \
	"From: <c@auth-pass.example>" "$D" "Message-ID: <r6@auth-pass.example>" \
	"Subject: r6" "X-Long: $(printf 'x%.0s' $(seq 1200))"
rule_case "an encoded word inside a quoted string" encoded-word \
	"From: \"=?UTF-8?B?SGVsbG8=?=\" <c@auth-pass.example>" "$D" \
	"Message-ID: <r7@auth-pass.example>" "Subject: r7"

# --- one-click unsubscribe (bulk mail: Precedence: bulk) ----------------------------
bulk() { # bulk SUBJECT HEADER-LINES... - a bulk message, sent and waited for
	local s=$1
	shift
	msg "$T/bulk.eml" "From: <news@auth-pass.example>" "${OK_HDRS[@]}" \
		"Message-ID: <$RANDOM.${s// /-}@auth-pass.example>" "Subject: $s" \
		"Precedence: bulk" "$@"
	send --from news@auth-pass.example --to bob@gmail.com --xclient-addr 192.0.2.77 \
		--xclient-login alice --data "$T/bulk.eml"
	wait_delivered "$s"
}
ONECLICK=("List-Unsubscribe: <https://auth-pass.example/u/1>, <mailto:u@auth-pass.example>"
	"List-Unsubscribe-Post: List-Unsubscribe=One-Click")

# 7. opendkim's default header list signs List-Unsubscribe but not
# List-Unsubscribe-Post: the finding no other tool catches
bulk "post unsigned" "${ONECLICK[@]}"
like "$(sink_header "$MSG" DKIM-Signature)" 'h=.*[Ll]ist-[Uu]nsubscribe' \
	"opendkim signed List-Unsubscribe"
unlike "$(sink_header "$MSG" DKIM-Signature | tr -d ' \t')" '[Ll]ist-[Uu]nsubscribe-[Pp]ost' \
	"but not List-Unsubscribe-Post"
like "$HDR" 'conform=unsubscribe-unsigned action=tag finding=conform reason=".*List-Unsubscribe-Post' \
	"List-Unsubscribe-Post not in h=: a finding naming it (OnUnsubscribeMissing tag)"

# 8. mailto-only List-Unsubscribe on bulk mail
bulk "mailto only" "List-Unsubscribe: <mailto:u@auth-pass.example>" \
	"List-Unsubscribe-Post: List-Unsubscribe=One-Click"
like "$HDR" 'conform=unsubscribe[ ,].*finding=conform reason=".*https' \
	"a mailto-only List-Unsubscribe is a finding for bulk mail"

# 9. transactional mail without unsubscribe fields: no finding
send_auth r1@auth-pass.example r1@auth-pass.example bob@gmail.com "receipt"
wait_delivered "receipt"
unlike "$HDR" 'conform=' "transactional mail without List-Unsubscribe: no finding"

# 10. both fields signed: opendkim told to sign List-Unsubscribe-Post too
stop_pid() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; return 0; }
# 11. the header section over MaxHeaderSize
restart_milter "Mode enforce" "EgressAddresses 192.0.2.25" \
	"OnMalformed defer" "MaxHeaderSize 1024"
rule_case "a header section over MaxHeaderSize" size \
	"From: <c@auth-pass.example>" "$D" "Message-ID: <r8@auth-pass.example>" \
	"Subject: r8" "X-Pad1: $(printf 'y%.0s' $(seq 600))" "X-Pad2: $(printf 'z%.0s' $(seq 600))"

stop_pid "$DKIM_PID"
DKIM_CONF="SignHeaders From,To,Subject,Date,Message-ID,List-Unsubscribe,List-Unsubscribe-Post" \
	start_opendkim "*@auth-pass.example auth-pass.example a $KEYS/a.private"
bulk "both signed" "${ONECLICK[@]}"
like "$(sink_header "$MSG" DKIM-Signature | tr -d ' \t')" '[Ll]ist-[Uu]nsubscribe-[Pp]ost' \
	"opendkim now signs List-Unsubscribe-Post"
unlike "$HDR" 'conform=' "both one-click fields signed: no finding"
like "$HDR" 'dkim=pass\(d=auth-pass\.example\)' "and the signature passes"
