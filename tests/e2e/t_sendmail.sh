#!/bin/bash
# t_sendmail - the core cases through Sendmail 8.17 instead of Postfix:
# outbound mail tagged (the decision line names Sendmail's queue id),
# a per-recipient 4xx, a whole-message defer at end of data, a hold
# (Sendmail's quarantine: an hf file, listed by mailq -qQ, released with
# sendmail -qQ -Q), inbound mail untouched, and F=T when the milter is
# down. The client is 127.0.0.1, in the default InternalHosts: outbound.
. "$(dirname "$0")/lib.sh"
plan 33

EGRESS="EgressAddresses 192.0.2.25"

start_nsd
start_sink
start_milter "Mode enforce" "$EGRESS" "HoldSenders @compromised.example" \
	"PauseDomains paused.example"
start_sendmail

# sm_send MAILFROM RCPTS SUBJECT - a message From: <MAILFROM>
sm_send() {
	send_sm --from "$1" --to "$2" --header "From: <$1>" --header "Subject: $3"
}

# 1. outbound: tagged, the decision line starts with Sendmail's queue id
sm_send e2@auth-pass.example bob@gmail.com "sm outbound"
qid=$(sm_qid_of_last_send)
like "$qid" '^[0-9A-Za-z]{14}$' "outbound message accepted with a Sendmail queue id"
sm_wait_sent "$qid"
f=$(sink_find '^Subject: sm outbound$')
ok "outbound message delivered" test -n "$f"
like "$(grep '^X-Preflight:' "$f")" \
	'^X-Preflight: v=1 verdict=deliver spf=pass\(ip4:192\.0\.2\.25\) dkim=none dmarc=pass\(p=reject\) providers=google:deliver host=mta\.preflight\.test$' \
	"one X-Preflight header, one space after the colon"
like "$(grep "$qid: preflight: action=" "$MILTER_LOG")" \
	"^.*$qid: preflight: action=tag mode=enforce verdict=deliver spf=pass\(ip4:192\.0\.2\.25\) dkim=none dmarc=pass\(p=reject\) providers=google:deliver from=<e2@auth-pass\.example> rcpts=1 path=smtp auth=- client=127\.0\.0\.1\$" \
	"decision line with Sendmail's queue id"
is "$(grep -c "$qid: preflight: action=" "$MILTER_LOG")" 1 "exactly one decision line"
like "$(grep "$qid: Milter" "$SM_LOG")" 'insert \(0\): header: X-Preflight:' \
	"Sendmail logs the header the milter added"

# 2. a per-recipient 4xx: that recipient is refused, the other delivered
sm_send e3@auth-pass.example a@paused.example,b@gmail.com "sm half paused"
out=$(cat "$T/swaks.out")
like "$out" '<\*\* 451 4\.7\.1 preflight: deliveries to paused\.example are paused by the operator \(PauseDomains\)' \
	"paused recipient gets 451 4.7.1 with our reason"
qid=$(sm_qid_of_last_send)
like "$qid" '^[0-9A-Za-z]{14}$' "message accepted for the other recipient"
sm_wait_sent "$qid"
like "$(grep "$qid: to=" "$SM_LOG")" 'to=<b@gmail\.com>, .*stat=Sent' \
	"the other recipient is delivered"
unlike "$(grep "$qid: to=" "$SM_LOG")" 'to=<a@paused\.example>' \
	"the paused recipient is not in the message"
like "$(grep "$qid: preflight: action=defer" "$MILTER_LOG")" \
	"$qid: preflight: action=defer mode=enforce rcpt=<a@paused\.example> from=<e3@auth-pass\.example> finding=operator" \
	"the deferral is logged with the queue id (known at RCPT)"
like "$(grep "$qid: preflight: action=tag" "$MILTER_LOG")" \
	'deferred=1 from=<e3@auth-pass\.example> rcpts=1' \
	"decision line counts the deferred recipient"

# 3. a whole-message defer at end of data: SPF fails from the egress
#    address, Gmail would refuse; nothing is queued or delivered
n=$(sink_count)
sm_send e1@auth-spffail.example bob@gmail.com "sm spf fail"
R="gmail\.com would refuse this \(550 5\.7\.26\): SPF for 192\.0\.2\.25 fails \(-all\) and no DKIM signature"
like "$(data_reply)" "^451 4\.7\.26 preflight: $R\$" \
	"end of data answered 451 4.7.26 with the prediction"
L=$(milter_line "from=<e1@auth-spffail\.example>")
like "$L" "^.*: ([0-9A-Za-z]{14}): preflight: action=defer mode=enforce verdict=reject spf=fail\(-all\) dkim=none dmarc=none providers=google:reject:5\.7\.26 finding=auth reason=\"$R\"" \
	"decision line says defer, with the queue id"
qid=$(printf '%s\n' "$L" | sed -nE 's/.*: ([0-9A-Za-z]{14}): preflight:.*/\1/p')
like "$(grep "$qid: Milter: data" "$SM_LOG")" "reject=451 4\.7\.26 preflight: $R" \
	"Sendmail logs the milter's reply"
is "$(find "$SM_QUEUE" -name "*$qid" | wc -l)" 0 "nothing of it left in the queue"
is "$(sink_count)" "$n" "nothing delivered"

# 4. hold: Sendmail quarantines the message (hf file), the release
#    delivers it without filtering again
n=$(sink_count)
sm_send victim@compromised.example friend@example.net "sm held one"
qid=$(sm_qid_of_last_send)
like "$qid" '^[0-9A-Za-z]{14}$' "client sees the held message accepted"
wait_log "$SM_LOG" "$qid: .*stat=quarantined"
is "$(sm_quarantined)" "$qid" "the message is quarantined (hf file)"
like "$(sm_cmd -bp -qQ 2>&1 | tr '\n' ' ')" \
	"$qid .*QUARANTINE: sender is held by the operator \(HoldSenders\)" \
	"mailq -qQ lists it with our reason"
like "$(grep "$qid: preflight: action=" "$MILTER_LOG")" \
	'action=hold mode=enforce verdict=deliver .* finding=operator reason="sender is held by the operator \(HoldSenders\)"' \
	"decision line gives the reason"
is "$(sink_count)" "$n" "nothing delivered while quarantined"
ok "released with sendmail -qQ -qI<id> -Q, then -qI<id>" sm_release "$qid"
sm_wait_sent "$qid"
f=$(sink_find '^Subject: sm held one$')
ok "released message is delivered" test -n "$f"
like "$(grep '^X-Preflight:' "$f")" 'action=hold finding=operator' \
	"delivered copy carries the header that explains the hold"
is "$(sm_quarantined)" "" "nothing left in quarantine"
is "$(grep -c "$qid: preflight: action=" "$MILTER_LOG")" 1 "the release did not pass the milter again"

# 5. inbound: 127.0.0.1 outside InternalHosts, no AUTH: passed untouched
restart_milter "Mode enforce" "InternalHosts 10.0.0.0/8" "HoldSenders @example.org"
send_sm --from someone@example.org --to user@example.com --header "Subject: sm inbound"
qid=$(sm_qid_of_last_send)
sm_wait_sent "$qid"
f=$(sink_find '^Subject: sm inbound$')
ok "inbound message delivered" test -n "$f"
unlike "$(cat "$f")" '^X-Preflight:' "no X-Preflight header on inbound mail"
unlike "$(cat "$MILTER_LOG")" "$qid: preflight:" "no decision line for inbound mail"
like "$(cat "$MILTER_LOG")" \
	'inbound from=<someone@example\.org> client=127\.0\.0\.1: passed untouched' \
	"one debug line says it passed untouched"

# 6. the milter down: F=T makes Sendmail tempfail, nothing is delivered
n=$(sink_count)
stop_milter
send_sm --from app@example.com --to bob@example.net --header "Subject: sm milter down"
like "$(cat "$T/swaks.out")" '<\*\* 451 4\.3\.2 Please try again later' \
	"Sendmail tempfails MAIL (451 4.3.2) with the milter down"
is "$(sink_count)" "$n" "nothing delivered with the milter down"
