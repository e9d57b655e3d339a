#!/bin/bash
# Rate budgets through the real Postfix: a recipient over its budget gets
# a 4xx for that recipient alone (its co-recipient at another provider is
# delivered), the log names the budget; an aborted transaction gives its
# reservation back; on the local submission path an over-budget message is
# held, never tempfailed.
. "$(dirname "$0")/lib.sh"
plan 18

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

# a Workspace-style domain (its MX is Google's) counts against the google
# budget; and once the window has moved on, the budget admits again
restart_milter "Mode enforce" "EgressAddresses 192.0.2.25" \
	"Budget google sender-domain 1/10s"
send --from w1@auth-pass.example --to bob@gmail.com --xclient-login w \
	--header "Subject: window 1"
like "$(cat "$T/swaks.out")" '250 2\.0\.0 Ok: queued as' "1/10s: the first gmail.com message is admitted"
send --from w2@auth-pass.example --to ceo@auth-workspace.example \
	--xclient-login w --header "Subject: window 2"
like "$(cat "$T/swaks.out")" '<\*\* 452 4\.7\.1 preflight: budget google/sender-domain auth-pass\.example 1/10s exhausted' \
	"a recipient whose MX is Google's counts against the google budget"
sleep 12 # the 10 s window plus its 1 s oldest bucket
send --from w3@auth-pass.example --to ceo@auth-workspace.example \
	--xclient-login w --header "Subject: window 3"
like "$(cat "$T/swaks.out")" '250 2\.0\.0 Ok: queued as' \
	"after the window has moved on the recipient is admitted"
qid=$(qid_of_last_send)
wait_sent "$qid"
like "$(grep "$qid:" "$PF_LOG" | grep status=sent)" 'to=<ceo@auth-workspace\.example>' \
	"and delivered"

# bulk status from volume: the message that brings a From: domain to
# BulkThreshold messages at a provider switches that provider's bulk
# rules on (logged once); Gmail's bulk rules want DKIM, which
# auth-pass.example mail here does not have
restart_milter "Mode enforce" "EgressAddresses 192.0.2.25" "BulkThreshold 2"
for i in 1 2; do
	send --from "b$i@auth-pass.example" --to bob@gmail.com \
		--xclient-login b --header "Subject: bulk $i"
done
like "$(cat "$MILTER_LOG")" 'auth-pass\.example is now a bulk sender at google \(2 messages in 24h, BulkThreshold 2\): bulk rules apply' \
	"crossing BulkThreshold is logged"
send --from b3@auth-pass.example --to bob@gmail.com --xclient-login b \
	--header "Subject: bulk 3"
like "$(cat "$T/swaks.out")" '<\*\* 451 4\.7\.30 preflight: gmail\.com would refuse this \(550 5\.7\.30\)' \
	"from then on Gmail's bulk rules apply: no DKIM predicts 550 5.7.30"
is "$(grep -c 'is now a bulk sender' "$MILTER_LOG")" 1 "the switch is logged once"
send --from b4@auth-pass.example --to carol@yahoo.com --xclient-login b \
	--header "Subject: bulk yahoo"
like "$(cat "$T/swaks.out")" '250 2\.0\.0 Ok: queued as' \
	"bulk status is per provider: yahoo.com still takes it"
