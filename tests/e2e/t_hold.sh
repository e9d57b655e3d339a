#!/bin/bash
# The hold action puts a message in Postfix's hold queue, tagged, with
# the reason in our log (Postfix logs only "milter triggers HOLD").
# Releasing it delivers it without filtering again.
. "$(dirname "$0")/lib.sh"
plan 6

start_nsd
start_sink
start_milter "Mode enforce" "HoldSenders @compromised.example"
start_postfix

send --from victim@compromised.example --to friend@example.net \
	--xclient-login victim --header "Subject: held one"
qid=$(qid_of_last_send)
like "$(cat "$T/swaks.out")" '250 2\.0\.0 Ok: queued as' "client sees the message accepted"
wait_log "$PF_LOG" "$qid: .*milter triggers HOLD action"
is "$(hold_queue_ids)" "$qid" "message is in the hold queue"
like "$(grep "$qid: preflight:" "$MILTER_LOG")" \
	'action=hold mode=enforce verdict=deliver spf=unchecked dkim=none dmarc=none providers=default:deliver finding=operator reason="sender is held by the operator \(HoldSenders\)"' \
	"decision line gives the reason"
is "$(sink_count)" 0 "nothing delivered while held"
postsuper -c "$PF_CONF" -H "$qid" >/dev/null 2>&1
flush_queue
wait_sent "$qid"
f=$(sink_find "Subject: held one")
ok "released message is delivered" test -n "$f"
like "$(grep '^X-Preflight:' "$f")" 'action=hold finding=operator' \
	"delivered copy carries the header that explains the hold"
