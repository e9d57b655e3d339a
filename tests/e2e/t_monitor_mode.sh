#!/bin/bash
# Mode monitor: log only. No header, no hold, no defer -- but the log
# says what enforce mode would have done.
. "$(dirname "$0")/lib.sh"
plan 5

start_nsd
start_sink
start_milter "Mode monitor" "HoldSenders held@example.com" \
	"PauseDomains paused.example"
start_postfix

send --from held@example.com --to a@paused.example,b@example.net \
	--xclient-login held --xclient-addr 192.0.2.9 --header "Subject: monitored"
qid=$(qid_of_last_send)
wait_sent "$qid"
wait_log "$PF_LOG" "$qid: .*to=<a@paused.example>.*status=sent"
f=$(sink_find "Subject: monitored")
unlike "$(cat "$f")" '^X-Preflight:' "monitor mode adds no header"
like "$(grep "$qid:" "$PF_LOG" | grep -c status=sent)" '^2$' \
	"both recipients delivered, the paused one too"
is "$(hold_queue_ids | wc -l)" 0 "nothing held"
like "$(cat "$MILTER_LOG")" \
	"$qid: preflight: action=accept mode=monitor verdict=deliver spf=unchecked dkim=none dmarc=none providers=default:deliver would=defer finding=operator reason=\"deliveries to paused\.example are paused" \
	"log says what enforce mode would have done"
like "$(grep "$qid: preflight:" "$MILTER_LOG")" "rcpts=2" "one line for the message, both recipients"
