#!/bin/bash
# A per-recipient 4xx defers only that recipient; the other recipient of
# the same message is delivered, and nothing is lost: the deferred one
# goes through once the pause is lifted.
. "$(dirname "$0")/lib.sh"
plan 7

start_nsd
start_sink
start_milter "Mode enforce" "PauseDomains paused.example"
start_postfix

send --from alice@example.com --to a@paused.example,b@example.net \
	--xclient-login alice --header "Subject: half paused"
out=$(cat "$T/swaks.out")
like "$out" '<\*\* 451 4\.7\.1 preflight: deliveries to paused\.example are paused by the operator \(PauseDomains\)' \
	"paused recipient gets 451 4.7.1 with our reason"
like "$out" '250 2\.0\.0 Ok: queued as' "message accepted for the other recipient"
qid=$(qid_of_last_send)
wait_sent "$qid"
like "$(grep "$qid:" "$PF_LOG" | grep status=sent)" 'to=<b@example\.net>' \
	"the other recipient is delivered"
unlike "$(grep "$qid:" "$PF_LOG")" 'to=<a@paused\.example>' \
	"the paused recipient is not in the message"
like "$(cat "$MILTER_LOG")" \
	'NOQUEUE: preflight: action=defer mode=enforce rcpt=<a@paused\.example> from=<alice@example\.com>' \
	"the deferral is logged"
like "$(grep "$qid: preflight:" "$MILTER_LOG")" 'deferred=1 from=<alice@example\.com> rcpts=1' \
	"decision line counts the deferred recipient"

# the client retries the deferred recipient after the pause is lifted
milter_config "Mode enforce"
kill -HUP "$MILTER_PID"
wait_log "$MILTER_LOG" "reloaded"
send --from alice@example.com --to a@paused.example --xclient-login alice \
	--header "Subject: retry"
qid=$(qid_of_last_send)
wait_sent "$qid"
like "$(grep "$qid:" "$PF_LOG" | grep status=sent)" 'to=<a@paused\.example>' \
	"the retried recipient is delivered"
