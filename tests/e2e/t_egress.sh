#!/bin/bash
# t_egress - the daemon's egress check through the real Postfix: an egress
# address without a PTR record is logged loudly once per check and every
# message to a receiver that would refuse it carries the finding (Gmail
# 550 5.7.25; OnEgressMisconfigured tag by default, defer when asked); an
# IPv6 address without a PTR is Microsoft's 450 4.7.25; a good address
# gives no finding. Zones: tests/data/zones/2.0.192.in-addr.arpa,
# egress.test (SPF passes for 192.0.2.0/24 and 2001:db8::/64).
. "$(dirname "$0")/lib.sh"
plan 10

start_nsd
start_sink
start_milter "Mode enforce" "EgressAddresses 192.0.2.26"
start_postfix

wait_log "$MILTER_LOG" "egress check:" 20
like "$(grep 'egress check:' "$MILTER_LOG")" 'egress check: egress=no-ptr\(192\.0\.2\.26\) -> marking mail to .*google \(550 5\.7\.25\), yahoo \(554 5\.7\.1\).* \(OnEgressMisconfigured tag\); fix: publish a PTR for 192\.0\.2\.26' \
	"the missing PTR is logged with what Gmail would answer and the fix"

send_auth e1@egress.test e1@egress.test bob@gmail.com "no ptr gmail"
wait_delivered "no ptr gmail"
like "$HDR" '^v=1 verdict=reject spf=pass\(ip4:192\.0\.2\.0/24\) .*providers=google:deliver egress=no-ptr\(192\.0\.2\.26\) action=tag finding=egress reason="gmail\.com would refuse this \(550 5\.7\.25\): egress 192\.0\.2\.26 has no PTR record"' \
	"a message to gmail.com is delivered with the finding (tag by default)"
like "$LINE" 'action=tag mode=enforce verdict=reject .*finding=egress' \
	"the decision line carries it"

send_auth e2@egress.test e2@egress.test carol@yahoo.com "no ptr yahoo"
wait_delivered "no ptr yahoo"
like "$HDR" 'finding=egress reason="yahoo\.com would refuse this \(554 5\.7\.1\)' \
	"a yahoo.com recipient: Yahoo's refusal predicted"

restart_milter "Mode enforce" "EgressAddresses 192.0.2.26" \
	"OnEgressMisconfigured defer"
wait_log "$MILTER_LOG" "egress check:" 20
send_auth e3@egress.test e3@egress.test bob@gmail.com "no ptr defer"
like "$(data_reply)" '^451 4\.7\.25 preflight: gmail\.com would refuse this \(550 5\.7\.25\): egress 192\.0\.2\.26 has no PTR record' \
	"OnEgressMisconfigured defer: 4xx at end of data with the reason"

# IPv6 without a PTR: Microsoft's 450 4.7.25
restart_milter "Mode enforce" "EgressAddresses 2001:db8::26"
wait_log "$MILTER_LOG" "egress check:" 20
like "$(grep 'egress check:' "$MILTER_LOG")" 'egress=no-ptr\(2001:db8::26\)' \
	"an IPv6 address without a PTR is found"
send_auth e4@egress.test e4@egress.test dan@outlook.com "v6 outlook"
wait_delivered "v6 outlook"
like "$HDR" 'verdict=throttle .*egress=no-ptr\(2001:db8::26\) action=tag finding=egress reason="outlook\.com would defer this \(450 4\.7\.25\)' \
	"to outlook.com: Microsoft's 450 4.7.25 predicted"

# a good address: PTR mta.preflight.test resolves back to 192.0.2.25
restart_milter "Mode enforce" "EgressAddresses 192.0.2.25" \
	"EgressHelo mta.preflight.test"
wait_log "$MILTER_LOG" "egress check:" 20
like "$(grep 'egress check:' "$MILTER_LOG")" 'egress check: egress=ok' \
	"a good address and HELO name: egress=ok is logged"
send_auth e5@egress.test e5@egress.test bob@gmail.com "good ptr"
wait_delivered "good ptr"
unlike "$HDR" 'egress=' "and messages carry no egress finding"
like "$HDR" '^v=1 verdict=deliver ' "and are delivered clean"
