#!/bin/bash
# demo.sh - preflight at work, on loopback, in a minute: builds if needed,
# starts a throwaway Postfix (relaying to smtp-sink), nsd with the test
# zones, rbldnsd with a blocklist and preflight-milter in enforce mode,
# sends sample messages, prints the decision lines and the headers the
# receiver got, stops everything.
#
#   sudo tests/demo.sh
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tests/install-deps.sh"
echo "demo: building preflight in _build (when not up to date) ..."
(cd "$top" && { [ -x configure ] || autoreconf -fi >/dev/null 2>&1; } &&
	mkdir -p _build && cd _build &&
	{ [ -f Makefile ] || "$top/configure" -q; } && make -j"$(nproc)" >/dev/null)
set +e
top_builddir=$top/_build
top_srcdir=$top
. "$top/tests/e2e/lib.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

start_nsd
start_sink
printf ':127.0.0.2:Listed\n127.0.0.2\n' | rbl_write bl.ip4
start_rbldnsd bl.test:ip4set:bl.ip4
start_milter "Mode enforce" "InternalHosts 127.0.0.0/8, 10.0.0.0/8" \
	"EgressAddresses 192.0.2.25" "EgressHelo mta.preflight.test" \
	"PauseDomains paused.example" "HoldSenders @compromised.example" \
	"Dnsbl bl.test ip providers=microsoft,yahoo delist=https://delist.test/ server=127.0.0.1@$RBL_PORT" \
	"DnsblInterval 2s"
start_postfix
echo "demo: Postfix on 127.0.0.1:$SMTP_PORT -> preflight-milter (enforce) -> smtp-sink"

echo "demo: our egress address is 192.0.2.25; the test DNS publishes SPF and DMARC"
echo "      for auth-pass.example (SPF allows 192.0.2.25) and auth-spffail.example"
echo "      (SPF allows only 198.51.100.25, -all)"

say "1. a user of auth-pass.example writes to Gmail and to example.net: SPF passes, DMARC passes"
send --from alice@auth-pass.example --to bob@gmail.com,carol@example.org \
	--xclient-login alice --header "Subject: demo 1"
grep -E '^(<-|<\*\*) *[245][0-9][0-9] .*queued' "$T/swaks.out"

say "1b. a user of auth-spffail.example writes to Gmail: SPF fails (-all), no DKIM -- Gmail would answer 550 5.7.26"
send --from shop@auth-spffail.example --to dana@gmail.com \
	--xclient-login shop --header "Subject: demo 1b"
grep -E '^(<-|<\*\*) *[245][0-9][0-9] ' "$T/swaks.out" | tail -2

say "2. inbound mail from an outside client: passed untouched"
send --from someone@example.org --to alice@example.com \
	--xclient-addr 198.51.100.20 --header "Subject: demo 2"
grep -E 'queued' "$T/swaks.out"

say "3. one recipient's domain is paused: that recipient gets a 4xx, the other is delivered"
send --from alice@example.com --to dave@paused.example,erin@example.net \
	--xclient-login alice --header "Subject: demo 3"
grep -E '^(<-|<\*\*) *4[0-9][0-9] |queued' "$T/swaks.out"

say "4. a compromised account: its mail goes to the hold queue"
send --from victim@compromised.example --to friend@example.net \
	--xclient-login victim --header "Subject: demo 4"
grep -E 'queued' "$T/swaks.out"

say "5. local submission with sendmail(1) (cron, scripts)"
printf 'From: cron@mta.preflight.test\nTo: ops@example.net\nSubject: demo 5\n\nnightly report\n' |
	local_send cron@mta.preflight.test ops@example.net && echo "sendmail: submitted"

say "6. our egress address 192.0.2.25 gets listed on a blocklist that Yahoo and Microsoft use"
printf ':127.0.0.2:Listed\n127.0.0.2\n192.0.2.25\n' | rbl_write bl.ip4
wait_log "$MILTER_LOG" "egress 192.0.2.25 LISTED" 20
grep -h 'egress 192.0.2.25 LISTED' "$MILTER_LOG" | sed 's/^.*preflight-milter\[[0-9]*\]: //'
send --from alice@auth-pass.example --to frank@yahoo.com,gina@gmail.com \
	--xclient-login alice --header "Subject: demo 6"
grep -E '^(<-|<\*\*) *[245][0-9][0-9] .*(yahoo|queued)' "$T/swaks.out"
echo "... delisted: the monitor resumes mail to Yahoo and Microsoft"
printf ':127.0.0.2:Listed\n127.0.0.2\n' | rbl_write bl.ip4
wait_log "$MILTER_LOG" "egress 192.0.2.25 DELISTED" 20
grep -h 'egress 192.0.2.25 DELISTED' "$MILTER_LOG" | sed 's/^.*preflight-milter\[[0-9]*\]: //'

for _ in $(seq 100); do
	[ "$(sink_count)" -ge 5 ] && [ -n "$(hold_queue_ids)" ] && break
	sleep 0.1
done

say "decision lines (preflight-milter's log; in production: maillog)"
grep -E 'preflight: action=|inbound from=' "$MILTER_LOG" | sed 's/^.*preflight-milter\[[0-9]*\]: //'

say "what the receiver got (X-Preflight headers at smtp-sink)"
for f in $(sink_files); do
	printf '%-28s %s\n' "$(grep -m1 '^Subject:' "$f")" \
		"$(grep -m1 '^X-Preflight:' "$f" || echo '(no X-Preflight: inbound mail is not touched)')"
done

say "Postfix's hold queue"
postqueue -c "$PF_CONF" -p | sed -n '1,6p'
echo
echo "demo: done; stopping Postfix, nsd, rbldnsd, smtp-sink and the milter"
