#!/bin/bash
# SIGHUP reloads: a good config takes effect for new connections; a broken
# one is logged with file:line and the old config keeps serving.
. "$(dirname "$0")/lib.sh"
plan 7

start_nsd
start_sink
start_milter "Mode tag"
start_postfix

send --from a@example.com --to b@example.net --xclient-login a --header "Subject: before"
wait_sent "$(qid_of_last_send)"
like "$(cat "$(sink_find 'Subject: before')")" '^X-Preflight:' "tag mode adds the header"

# broken config: logged, old one kept
cp "$MILTER_CONF" "$T/good.conf"
echo "UMask 999" >>"$MILTER_CONF"
kill -HUP "$MILTER_PID"
wait_log "$MILTER_LOG" 'reload of .* failed; keeping the running configuration'
like "$(cat "$MILTER_LOG")" "config: $MILTER_CONF:[0-9]+: UMask: expected an octal mode" \
	"reload error names file and line"
ok "milter still running after a broken reload" kill -0 "$MILTER_PID"
send --from a@example.com --to b@example.net --xclient-login a --header "Subject: after bad"
wait_sent "$(qid_of_last_send)"
like "$(cat "$(sink_find 'Subject: after bad')")" '^X-Preflight:' \
	"the old config (tag) still serves"

# good config: monitor mode takes effect
sed -e 's/^Mode tag$/Mode monitor/' "$T/good.conf" >"$MILTER_CONF"
kill -HUP "$MILTER_PID"
wait_log "$MILTER_LOG" 'reloaded .* \(mode=monitor\)'
send --from a@example.com --to b@example.net --xclient-login a --header "Subject: after good"
qid=$(qid_of_last_send)
wait_sent "$qid"
unlike "$(cat "$(sink_find 'Subject: after good')")" '^X-Preflight:' \
	"the new config (monitor) applies to new connections"
like "$(grep "$qid: preflight:" "$MILTER_LOG")" 'mode=monitor' "decision line shows the new mode"

# a burst of SIGHUPs (SIGHUP would stop a plain libmilter program)
for _ in $(seq 20); do kill -HUP "$MILTER_PID"; done
sleep 1
ok "20 SIGHUPs in a row: still running" kill -0 "$MILTER_PID"
