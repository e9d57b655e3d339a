#!/bin/bash
# The milter's own cost, as a benchmark reads it: at LogLevel debug a
# timing line follows each decision line with the same queue id; at exit
# a stats line counts the messages decided; an inet socket gets
# TCP_NODELAY at start. No durations are asserted, only their shape.
. "$(dirname "$0")/lib.sh"
plan 17

# after_decision QID - the milter's lines for QID after the decision line
after_decision() { grep -- "$1: preflight:" "$MILTER_LOG" | sed -n '2,$p'; }
# stats_sum FIELD - FIELD summed over every stats line of the log
stats_sum() {
	sed -n "s/.* stats: .*[ ]$1=\([0-9]*\).*/\1/p; s/.* stats: $1=\([0-9]*\).*/\1/p" \
		"$MILTER_LOG" | awk '{ s += $1 } END { print s + 0 }'
}
TIMING='preflight: timing total_us=([0-9]+) mail_us=([0-9]+) rcpt_us=([0-9]+) hdr_us=([0-9]+) body_us=([0-9]+) eom_us=([0-9]+)$'

start_nsd
start_sink
start_milter "Mode tag" "InternalHosts 10.0.0.0/8"
start_postfix

like "$(cat "$MILTER_LOG")" 'preflight-milter\[[0-9]+\]: inet socket: TCP_NODELAY set$' \
	"an inet socket gets TCP_NODELAY at start"

# three outbound messages (one with two recipients) and one inbound
qids=()
send --from alice@example.com --to bob@example.net \
	--xclient-addr 192.0.2.77 --xclient-login alice --header "Subject: stats 1"
qids+=("$(qid_of_last_send)")
send --from alice@example.com --to x@example.net,y@example.org \
	--xclient-addr 192.0.2.77 --xclient-login alice --header "Subject: stats 2"
qids+=("$(qid_of_last_send)")
send --from app@example.com --to carol@example.org \
	--xclient-addr 10.1.2.3 --header "Subject: stats 3"
qids+=("$(qid_of_last_send)")
send --from someone@example.org --to postmaster@example.com \
	--xclient-addr 198.51.100.9 --header "Subject: stats inbound"
inbound=$(qid_of_last_send)

for qid in "${qids[@]}"; do
	wait_sent "$qid" || diag "$qid not sent"
	wait_log "$MILTER_LOG" "$qid: preflight: timing " 10
	lines=$(grep -- "$qid: preflight:" "$MILTER_LOG")
	first=$(printf '%s\n' "$lines" | sed -n 1p)
	like "$first" "$qid: preflight: action=tag mode=tag verdict=deliver .* path=smtp " \
		"$qid: the decision line comes first, as before"
	t=$(after_decision "$qid")
	is "$(printf '%s\n' "$t" | grep -cE "$qid: $TIMING")/$(printf '%s\n' "$t" | wc -l)" \
		1/1 "$qid: then one timing line, same queue id"
	# total_us is the sum of the stages (the numbers, not their size)
	read -r total mail rcpt hdr body eom < <(printf '%s\n' "$t" |
		sed -nE "s/.*$TIMING/\1 \2 \3 \4 \5 \6/p")
	is "$((mail + rcpt + hdr + body + eom))" "$total" \
		"$qid: total_us is the sum of the stages"
done
wait_sent "$inbound"
unlike "$(cat "$MILTER_LOG")" "$inbound: preflight:" \
	"inbound mail: neither a decision nor a timing line"

stop_milter
stats=$(grep ' stats: ' "$MILTER_LOG" | tail -1)
like "$stats" 'stats: messages=[0-9]+ decisions/s=[0-9]+\.[0-9]+ dns_hits=[0-9]+ dns_misses=[0-9]+ dkim_key_hits=[0-9]+ dkim_key_misses=[0-9]+ eom_us_p50=[0-9]+ eom_us_p99=[0-9]+ total_us_p50=[0-9]+ total_us_p99=[0-9]+ interval_s=[0-9]+\.[0-9]$' \
	"a stats line at exit"
like "$(grep -A1 ' stats: ' "$MILTER_LOG" | tail -1)" 'preflight-milter stopped$' \
	"the stats line comes right before the stop line"
is "$(stats_sum messages)" 3 "messages= counts the three outbound messages"
dns=$(($(stats_sum dns_hits) + $(stats_sum dns_misses)))
like "$dns" '^[1-9][0-9]*$' "the DNS lookups of the checks are counted"

# LogLevel info: the decision line, no timing line; the stats line stays
sed -i 's/^LogLevel debug$/LogLevel info/' "$MILTER_CONF"
start_milter
send --from alice@example.com --to bob@example.net \
	--xclient-addr 192.0.2.77 --xclient-login alice --header "Subject: stats info"
qid=$(qid_of_last_send)
wait_sent "$qid"
is "$(grep -c -- "$qid: preflight:" "$MILTER_LOG")" 1 \
	"LogLevel info: the decision line alone"
stop_milter
is "$(stats_sum messages)" 1 "LogLevel info: the stats line at exit counts it"
