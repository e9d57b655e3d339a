#!/bin/bash
# Rate budgets through the real Postfix: a recipient over its budget gets
# a 4xx for that recipient alone (its co-recipient at another provider is
# delivered), the log names the budget; an aborted transaction gives its
# reservation back; on the local submission path an over-budget message is
# held, never tempfailed.
. "$(dirname "$0")/lib.sh"
plan 10

start_nsd
start_sink
start_milter "Mode enforce" "EgressAddresses 192.0.2.25" \
	"Budget google sender-domain 3/1h"
start_postfix

for i in 1 2 3; do
	send --from "a$i@auth-pass.example" --to "bob@gmail.com" \
		--xclient-login alice --header "Subject: budget $i"
	wait_sent "$(qid_of_last_send)"
done
is "$(sink_count)" 3 "three messages to gmail.com within the budget are delivered"

send --from a4@auth-pass.example --to bob@gmail.com,carol@yahoo.com \
	--xclient-login alice --header "Subject: budget 4"
out=$(cat "$T/swaks.out")
like "$out" '<\*\* 452 4\.7\.1 preflight: budget google/sender-domain auth-pass\.example 3/1h exhausted; next slot [0-9:]+Z' \
	"the 4th gmail.com recipient gets 452 4.7.1 naming the budget and the next slot"
qid=$(qid_of_last_send)
wait_sent "$qid"
like "$(grep "$qid:" "$PF_LOG" | grep status=sent)" 'to=<carol@yahoo\.com>' \
	"its yahoo.com co-recipient is delivered"
unlike "$(grep "$qid:" "$PF_LOG")" 'to=<bob@gmail\.com>' "the gmail.com recipient is not in the message"
like "$(cat "$MILTER_LOG")" 'NOQUEUE: preflight: action=defer mode=enforce rcpt=<bob@gmail\.com> from=<a4@auth-pass\.example> finding=budget reason="budget google/sender-domain auth-pass\.example 3/1h exhausted' \
	"the log line names the budget"
like "$(grep "$qid: preflight:" "$MILTER_LOG")" 'deferred=1 .*rcpts=1' \
	"the decision line counts the deferred recipient"

# an aborted transaction gives its reservation back (a restarted milter
# with the memory store starts from zero)
restart_milter "Mode enforce" "EgressAddresses 192.0.2.25" \
	"Budget google sender-domain 1/1h"
send --from x1@auth-pass.example --to dan@gmail.com --xclient-login x \
	--quit-after RCPT
send --from x2@auth-pass.example --to dan@gmail.com --xclient-login x \
	--header "Subject: after abort"
like "$(cat "$T/swaks.out")" '250 2\.0\.0 Ok: queued as' \
	"after an aborted transaction the budget still has room"
send --from x3@auth-pass.example --to dan@gmail.com --xclient-login x \
	--header "Subject: over"
like "$(cat "$T/swaks.out")" '<\*\* 452 4\.7\.1 preflight: budget google/sender-domain auth-pass\.example 1/1h' \
	"and the next one is over it"

# local submission: over budget is held, never tempfailed
printf 'From: cron@auth-pass.example\nTo: ops@gmail.com\nSubject: local over\n\nx\n' |
	local_send cron@auth-pass.example ops@gmail.com
wait_log "$MILTER_LOG" 'action=hold mode=enforce .*path=local'
qid=$(sed -n 's/^.* \([0-9A-F]*\): preflight: action=hold .*path=local.*/\1/p' "$MILTER_LOG" | head -1)
like "$(grep "$qid: preflight:" "$MILTER_LOG")" 'finding=budget reason="budget google/sender-domain auth-pass\.example 1/1h' \
	"local submission over budget: held, with the budget named"
unlike "$(cat "$PF_LOG")" 'milter configuration error' "Postfix saw no milter configuration error"
