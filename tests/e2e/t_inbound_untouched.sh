#!/bin/bash
# Inbound mail (an external, unauthenticated client) passes untouched: no
# header, no decision line, only a debug line.
. "$(dirname "$0")/lib.sh"
plan 4

start_nsd
start_sink
start_milter "Mode enforce" "HoldSenders @example.org"
start_postfix

# the sender is even on the hold list: inbound mail is not ours to judge
send --from someone@example.org --to user@example.com \
	--xclient-addr 198.51.100.20 --header "Subject: inbound"
qid=$(qid_of_last_send)
wait_sent "$qid"
f=$(sink_find "Subject: inbound")
ok "inbound message delivered" test -n "$f"
unlike "$(cat "$f")" '^X-Preflight:' "no X-Preflight header on inbound mail"
unlike "$(cat "$MILTER_LOG")" "$qid: preflight:" "no decision line for inbound mail"
like "$(cat "$MILTER_LOG")" \
	'inbound from=<someone@example.org> client=198\.51\.100\.20: passed untouched' \
	"one debug line says it passed untouched"
