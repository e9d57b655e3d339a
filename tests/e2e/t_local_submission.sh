#!/bin/bash
# Local submission (sendmail(1) -> pickup -> cleanup_local, whose
# {daemon_name} is "local-submit") is outbound: tagged. A paused
# recipient there is held, never tempfailed (Postfix would treat a milter
# tempfail on that path as a configuration error and retry forever).
. "$(dirname "$0")/lib.sh"
plan 7

start_nsd
start_sink
start_milter "Mode enforce" "PauseDomains paused.example" \
	"InternalHosts 192.0.2.0/24"
start_postfix

printf 'From: cron@mta.preflight.test\nTo: ops@example.net\nSubject: local one\n\nhello\n' |
	local_send cron@mta.preflight.test ops@example.net
ok "sendmail(1) accepted the message" test $? = 0
wait_log "$MILTER_LOG" 'preflight: action=tag .*path=local' || true
qid=$(sed -n 's/^.* \([0-9A-F]*\): preflight: action=tag .*path=local.*/\1/p' "$MILTER_LOG" | head -1)
like "$qid" '^[0-9A-F]+$' "decision line for the local message, with its queue id"
wait_sent "$qid"
f=$(sink_find "Subject: local one")
like "$(grep -m1 '^X-Preflight:' "$f")" 'v=1 verdict=deliver' "locally submitted mail is tagged"

printf 'From: cron@mta.preflight.test\nTo: a@paused.example\nSubject: local paused\n\nhello\n' |
	local_send cron@mta.preflight.test a@paused.example b@example.net
wait_log "$MILTER_LOG" 'action=hold mode=enforce .*path=local'
qid=$(sed -n 's/^.* \([0-9A-F]*\): preflight: action=hold .*path=local.*/\1/p' "$MILTER_LOG" | head -1)
like "$qid" '^[0-9A-F]+$' "paused recipient on the local path: the message is held"
wait_log "$PF_LOG" "$qid: .*milter triggers HOLD action"
is "$(hold_queue_ids)" "$qid" "it is in the hold queue"
unlike "$(cat "$PF_LOG")" 'milter configuration error' "Postfix saw no milter configuration error"
unlike "$(cat "$MILTER_LOG")" 'action=defer' "nothing was tempfailed on the local path"
