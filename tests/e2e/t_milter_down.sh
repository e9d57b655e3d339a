#!/bin/bash
# With the milter killed, Postfix's milter_default_action = tempfail gives
# the client a 4xx; after the milter is back the client's retry is
# delivered. Nothing is lost.
. "$(dirname "$0")/lib.sh"
plan 5

start_nsd
start_sink
start_milter "Mode tag"
start_postfix

kill -9 "$MILTER_PID"
wait "$MILTER_PID" 2>/dev/null
send --from a@example.com --to b@example.net --xclient-login a --header "Subject: while down"
rc=$?
like "$(cat "$T/swaks.out")" '<\*\* 4[0-9][0-9] 4\.[0-9]\.[0-9]' "client gets a 4xx while the milter is down"
ok "swaks reports the temporary failure" test "$rc" != 0
is "$(sink_count)" 0 "nothing delivered unfiltered"

start_milter
send --from a@example.com --to b@example.net --xclient-login a --header "Subject: while down"
qid=$(qid_of_last_send)
wait_sent "$qid"
f=$(sink_find "Subject: while down")
like "$(grep '^X-Preflight:' "$f")" 'v=1' "the retry is delivered, filtered"
is "$(sink_count)" 1 "exactly one copy delivered"
