#!/bin/bash
# Outbound mail (authenticated, or from InternalHosts) arrives at the
# receiver with the X-Preflight header, and the decision line names the
# Postfix queue id.
. "$(dirname "$0")/lib.sh"
plan 9

start_nsd
start_sink
start_milter "Mode tag" "InternalHosts 10.0.0.0/8"
start_postfix

# 1. authenticated client (XCLIENT LOGIN gives Postfix a SASL login name)
send --from alice@example.com --to bob@example.net \
	--xclient-addr 192.0.2.77 --xclient-login alice \
	--header "Subject: auth test"
qid=$(qid_of_last_send)
like "$qid" '^[0-9A-F]+$' "authenticated message queued"
wait_sent "$qid"
f=$(sink_find "Subject: auth test")
like "$(grep -m1 '^X-Preflight:' "$f")" \
	'^X-Preflight: v=1 verdict=deliver spf=unchecked dkim=none dmarc=none providers=default:deliver host=mta\.preflight\.test$' \
	"delivered message carries X-Preflight"
like "$(cat "$MILTER_LOG")" \
	"$qid: preflight: action=tag mode=tag verdict=deliver spf=unchecked dkim=none dmarc=none providers=default:deliver from=<alice@example.com> rcpts=1 path=smtp auth=alice client=192\.0\.2\.77" \
	"decision line with the queue id first"
is "$(grep -c "$qid: preflight: action=" "$MILTER_LOG")" 1 "exactly one decision line"

# 2. internal client (InternalHosts 10.0.0.0/8), not authenticated
send --from app@example.com --to carol@example.org \
	--xclient-addr 10.1.2.3 --header "Subject: internal test"
qid=$(qid_of_last_send)
wait_sent "$qid"
f=$(sink_find "Subject: internal test")
like "$(grep -m1 '^X-Preflight:' "$f")" 'v=1 verdict=deliver' \
	"internal client's message tagged"
like "$(cat "$MILTER_LOG")" "$qid: preflight: action=tag .* auth=- client=10\.1\.2\.3" \
	"decision line for the internal client"

# 3. a message with two recipients is tagged once, one line says rcpts=2
send --from alice@example.com --to x@example.net,y@example.org \
	--xclient-login alice --xclient-addr 192.0.2.77 --header "Subject: two rcpts"
qid=$(qid_of_last_send)
wait_sent "$qid"
f=$(sink_find "Subject: two rcpts")
is "$(grep -c '^X-Preflight:' "$f")" 1 "one header for a two-recipient message"
like "$(grep "$qid: preflight:" "$MILTER_LOG")" "rcpts=2" "log counts both recipients"
like "$(grep "$qid:" "$PF_LOG" | grep -c status=sent)" '^2$' "both recipients delivered"
