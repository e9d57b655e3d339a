#!/bin/bash
# SIGHUP while mail flows: 50 messages sent one after another in the
# background; meanwhile a broken config is reloaded (several SIGHUPs),
# then a good one. Every message gets 250, the failed reload is logged
# and the old config (tag) keeps serving; after the good reload new
# sessions get the new config (monitor).
. "$(dirname "$0")/lib.sh"
plan 9

# done_count - messages of the background loop that have their answer
done_count() { wc -l <"$T/flow.out"; }

# wait_done N - until the loop has sent N messages (60 s at most)
wait_done() {
	local i
	for ((i = 0; i < 1200; i++)); do
		[ "$(done_count)" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

start_nsd
start_sink
start_milter "Mode tag"
start_postfix
cp "$MILTER_CONF" "$T/good.conf"

# the loop: one line per message, "N REPLY" (the reply to the end of data)
: >"$T/flow.out"
(
	for ((i = 1; i <= 50; i++)); do
		swaks --server "127.0.0.1:$SMTP_PORT" --timeout 60 \
			--from "f$i@example.com" --to b@example.net --xclient-login a \
			--header "Subject: flow $i" >"$T/flow.$i" 2>&1
		r=$(awk '/^ *-> \.$/ { d = 1; next }
			d && /^ *<(\*\*|-) / { sub(/^ *<(\*\*|-) +/, ""); print; exit }' "$T/flow.$i")
		echo "$i $r" >>"$T/flow.out"
	done
) &
FLOW_PID=$!
_track $FLOW_PID

# a broken config while the messages flow
wait_done 10 || bail "the loop does not send"
echo "UMask 999" >>"$MILTER_CONF"
for _ in 1 2 3 4 5; do
	kill -HUP "$MILTER_PID"
	sleep 0.2
done
wait_log "$MILTER_LOG" 'reload of .* failed; keeping the running configuration'
like "$(cat "$MILTER_LOG")" "config: $MILTER_CONF:[0-9]+: UMask: expected an octal mode" \
	"the failed reload is logged with file and line"
bad_at=$(done_count)

# a good config (monitor) after some more messages
wait_done $((bad_at + 10)) || bail "the loop stopped"
sed -e 's/^Mode tag$/Mode monitor/' "$T/good.conf" >"$MILTER_CONF"
pre_at=$(done_count) # messages 1..pre_at were answered before the reload
kill -HUP "$MILTER_PID"
wait_log "$MILTER_LOG" 'reloaded .* \(mode=monitor\)'
good_at=$(done_count)
like "$(cat "$MILTER_LOG")" 'reloaded .* \(mode=monitor\)' "the good reload is logged"

wait "$FLOW_PID"
is "$(done_count)" 50 "the loop sent 50 messages"
is "$(awk '$2 != 250' "$T/flow.out")" "" "every one of them got 250"
wait_sink 50 60
is "$(sink_count)" 50 "all 50 were delivered"
ok "the milter still runs" kill -0 "$MILTER_PID"

# tag for the messages answered before the good reload, monitor for those
# sent after it was logged (the ones in flight meanwhile may have either)
r_tag='' r_mon='' r_line=''
for ((i = 1; i <= 50; i++)); do
	f=$(sink_find "^Subject: flow $i\$")
	h=$(sink_header "$f" X-Preflight)
	line=$(milter_line "from=<f$i@example\.com>")
	[ -n "$line" ] || r_line="$r_line $i"
	if [ $i -le "$pre_at" ]; then
		[[ "$h" == v=1* && "$line" == *mode=tag* ]] || r_tag="$r_tag $i"
	elif [ $i -gt $((good_at + 1)) ]; then
		[[ -z "$h" && "$line" == *mode=monitor* ]] || r_mon="$r_mon $i"
	fi
done
is "$r_line" "" "each message has a decision line"
is "$r_tag" "" "messages 1-$pre_at (broken reload at $bad_at): the old config (tag) served them"
is "$r_mon" "" "messages $((good_at + 2))-50: the new config (monitor) served them"
