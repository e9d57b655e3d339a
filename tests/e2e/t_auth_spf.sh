#!/bin/bash
# t_auth_spf - SPF as the receiver will see it, through the real Postfix:
# preflight evaluates the envelope sender's SPF from every EgressAddresses
# address (never the client's) and says what Gmail would answer. Enforce
# mode defers what Gmail would refuse, tag mode delivers it with the
# prediction in X-Preflight. Fail, softfail, no record, too many lookups
# through includes, too many void lookups, SERVFAIL (OnDnsError), and an
# IPv6 egress address. Zones: tests/data/zones/auth-*.zone.
. "$(dirname "$0")/lib.sh"
plan 54

EGRESS="EgressAddresses 192.0.2.25, 2001:db8::25"

start_nsd
start_sink
start_milter "Mode enforce" "$EGRESS" "OnDnsError defer"
start_postfix

# --- enforce mode ----------------------------------------------------------

# 1. SPF -all fails, no DKIM, no DMARC: Gmail refuses (550 5.7.26), we defer
send_auth e1@auth-spffail.example e1@auth-spffail.example bob@gmail.com \
	"spf fail enforce"
R="gmail\.com would refuse this \(550 5\.7\.26\): SPF for 192\.0\.2\.25 fails \(-all\) and no DKIM signature"
like "$(data_reply)" "^451 4\.7\.26 preflight: $R\$" \
	"enforce: SPF fail to gmail.com is deferred with Gmail's code"
L=$(milter_line "from=<e1@auth-spffail\.example>")
cli_remember "spf fail enforce" e1@auth-spffail.example bob@gmail.com - "$L"
like "$L" "preflight: action=defer mode=enforce verdict=reject spf=fail\(-all\) dkim=none dmarc=none providers=google:reject:5\.7\.26 finding=auth reason=\"$R\" from=<e1@auth-spffail\.example> rcpts=1 path=smtp auth=alice client=192\.0\.2\.77" \
	"enforce: the decision line says defer and why"
like "$(grep 'milter-reject: END-OF-MESSAGE' "$PF_LOG")" ": 4\.7\.26 preflight: gmail\.com would refuse this .*from=<e1@auth-spffail\.example>" \
	"Postfix refused the message at end of data (nothing queued)"

# 2. SPF passes from both egress addresses, DMARC passes through it
send_auth e2@auth-pass.example e2@auth-pass.example bob@gmail.com \
	"spf pass enforce"
like "$(data_reply)" "^250 2\.0\.0 Ok: queued" "enforce: SPF pass is accepted"
wait_delivered "spf pass enforce"
cli_remember "spf pass enforce" e2@auth-pass.example bob@gmail.com "$MSG" "$LINE"
is "$HDR" "v=1 verdict=deliver spf=pass(ip4:192.0.2.25) dkim=none dmarc=pass(p=reject) providers=google:deliver host=mta.preflight.test" \
	"enforce: delivered, X-Preflight says deliver, no finding"
like "$LINE" "preflight: action=tag mode=enforce verdict=deliver spf=pass\(ip4:192\.0\.2\.25\) dkim=none dmarc=pass\(p=reject\) providers=google:deliver from=<e2@auth-pass\.example> rcpts=1" \
	"enforce: decision line for the passing message"
unlike "$LINE" "finding=" "enforce: no finding for the passing message"

# 3. SERVFAIL for the sender's domain: SPF and DMARC temperror; OnDnsError
#    defer answers 451 with Gmail's temporary code
send_auth e3@auth-servfail.example e3@auth-servfail.example bob@gmail.com \
	"servfail enforce"
R="gmail\.com would defer this \(451 4\.7\.26\): DMARC of auth-servfail\.example could not be checked \(DNS\); also: spf_or_dkim"
like "$(data_reply)" "^451 4\.7\.26 preflight: $R\$" \
	"enforce: SERVFAIL deferred by OnDnsError defer"
L=$(milter_line "from=<e3@auth-servfail\.example>")
cli_remember "servfail enforce" e3@auth-servfail.example bob@gmail.com - "$L"
like "$L" "preflight: action=defer mode=enforce verdict=throttle spf=temperror dkim=none dmarc=temperror providers=google:throttle:4\.7\.26 finding=auth reason=\"$R\"" \
	"enforce: decision line says temperror and defer"

# nothing of the deferred messages reached the receiver
wait_sink 1
is "$(sink_count)" 1 "only the passing message was delivered"
is "$(grep -c 'status=sent' "$PF_LOG")" 1 "Postfix sent exactly one message"

# --- tag mode ----------------------------------------------------------------

restart_milter "Mode tag" "$EGRESS"

# 4. the same SPF fail in tag mode: delivered, the header predicts 5.7.26
send_auth t1@auth-spffail.example t1@auth-spffail.example bob@gmail.com \
	"spf fail tag"
wait_delivered "spf fail tag"
cli_remember "spf fail tag" t1@auth-spffail.example bob@gmail.com "$MSG" "$LINE"
R="gmail\.com would refuse this \(550 5\.7\.26\): SPF for 192\.0\.2\.25 fails \(-all\) and no DKIM signature"
like "$HDR" "^v=1 verdict=reject spf=fail\(-all\) dkim=none dmarc=none providers=google:reject:5\.7\.26 action=defer finding=auth reason=\"$R\" host=mta\.preflight\.test\$" \
	"tag: SPF fail delivered with verdict=reject and Gmail's 5.7.26"
like "$LINE" "preflight: action=tag mode=tag verdict=reject spf=fail\(-all\) dkim=none dmarc=none providers=google:reject:5\.7\.26 would=defer finding=auth reason=\"$R\"" \
	"tag: decision line says tag, would defer"

# 5. softfail (~all)
send_auth t2@auth-soft.example t2@auth-soft.example bob@gmail.com \
	"spf softfail"
wait_delivered "spf softfail"
cli_remember "spf softfail" t2@auth-soft.example bob@gmail.com "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=softfail\(~all\) dkim=none dmarc=none providers=google:reject:5\.7\.26 action=defer finding=auth reason=\"gmail\.com would refuse this \(550 5\.7\.26\): SPF for 192\.0\.2\.25 softfails \(~all\) and no DKIM signature\"" \
	"softfail: Gmail would refuse (no SPF pass, no DKIM)"
like "$LINE" "verdict=reject spf=softfail\(~all\) .* would=defer finding=auth" \
	"softfail: decision line"

# 6. softfail to a receiver without Gmail's rule: deliver, no finding
send_auth t3@auth-soft.example t3@auth-soft.example carol@example.net \
	"spf softfail default"
wait_delivered "spf softfail default"
cli_remember "spf softfail default" t3@auth-soft.example carol@example.net "$MSG" "$LINE"
is "$HDR" "v=1 verdict=deliver spf=softfail(~all) dkim=none dmarc=none providers=default:deliver host=mta.preflight.test" \
	"softfail to example.net: deliver (only DMARC policy counts there)"
unlike "$LINE" "finding=" "softfail to example.net: no finding"

# 7. no SPF record at all
send_auth t4@auth-nospf.example t4@auth-nospf.example bob@gmail.com \
	"spf none"
wait_delivered "spf none"
cli_remember "spf none" t4@auth-nospf.example bob@gmail.com "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=none dkim=none dmarc=none providers=google:reject:5\.7\.26 action=defer finding=auth reason=\"gmail\.com would refuse this \(550 5\.7\.26\): no SPF record for auth-nospf\.example and no DKIM signature\"" \
	"no SPF record: Gmail would refuse"
like "$LINE" "verdict=reject spf=none dkim=none .* finding=auth" \
	"no SPF record: decision line"

# 8. 12 DNS lookups through three includes: permerror (each record alone
#    is under the limit; RFC 7208 counts the whole evaluation)
send_auth t5@auth-permerror.example t5@auth-permerror.example \
	bob@gmail.com,carol@example.net "spf lookups"
wait_delivered "spf lookups"
cli_remember "spf lookups" t5@auth-permerror.example bob@gmail.com,carol@example.net "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=permerror[( ]" \
	"over 10 lookups through includes: permerror"
like "$HDR" "providers=google:reject:5\.7\.26,default:deliver " \
	"over 10 lookups: Gmail refuses, example.net delivers"
like "$HDR" "reason=\"gmail\.com would refuse this \(550 5\.7\.26\): SPF record of auth-permerror\.example is broken \(permerror\) and no DKIM signature\"" \
	"over 10 lookups: the reason names the broken record"
like "$LINE" "verdict=reject spf=permerror.* rcpts=2 " "over 10 lookups: decision line"

# 9. three void lookups (a: names that do not exist): permerror
send_auth t6@auth-void.example t6@auth-void.example bob@gmail.com \
	"spf void"
wait_delivered "spf void"
cli_remember "spf void" t6@auth-void.example bob@gmail.com "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=permerror[( ].*providers=google:reject:5\.7\.26 .*SPF record of auth-void\.example is broken \(permerror\)" \
	"over 2 void lookups: permerror, Gmail would refuse"
like "$LINE" "verdict=reject spf=permerror" "over 2 void lookups: decision line"

# 10. SERVFAIL with the default OnDnsError (tag): delivered, says throttle
send_auth t7@auth-servfail.example t7@auth-servfail.example bob@gmail.com \
	"spf servfail tag"
wait_delivered "spf servfail tag"
cli_remember "spf servfail tag" t7@auth-servfail.example bob@gmail.com "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=throttle spf=temperror dkim=none dmarc=temperror providers=google:throttle:4\.7\.26 action=tag finding=auth reason=\"gmail\.com would defer this \(451 4\.7\.26\): DMARC of auth-servfail\.example could not be checked \(DNS\)" \
	"SERVFAIL in tag mode: delivered, verdict=throttle, temperror"
like "$LINE" "action=tag mode=tag verdict=throttle spf=temperror .* finding=auth" \
	"SERVFAIL in tag mode: decision line"
unlike "$LINE" "would=" "SERVFAIL: the default OnDnsError only tags"

# 11. SERVFAIL for the envelope domain only; From: has DMARC p=none
send_auth t8@auth-servfail.example t8@auth-none.example bob@gmail.com \
	"spf servfail envelope"
wait_delivered "spf servfail envelope"
cli_remember "spf servfail envelope" t8@auth-servfail.example bob@gmail.com "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=throttle spf=temperror dkim=none dmarc=[a-z]+\(p=none\) providers=google:throttle:4\.7\.26 .*reason=\"gmail\.com would defer this \(421 4\.7\.26\): SPF for 192\.0\.2\.25 could not be checked \(DNS\) and no DKIM signature\"" \
	"SERVFAIL for the MAIL FROM domain: SPF temperror, Gmail's 421 4.7.26"
like "$LINE" "verdict=throttle spf=temperror" "SERVFAIL envelope: decision line"

# 12. both egress addresses: the worst result counts, here the IPv6 one
send_auth t9@auth-v4only.example t9@auth-v4only.example bob@gmail.com \
	"spf v4 only"
wait_delivered "spf v4 only"
cli_remember "spf v4 only" t9@auth-v4only.example bob@gmail.com "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=fail\(-all\) .*reason=\"gmail\.com would refuse this \(550 5\.7\.26\): SPF for 2001:db8::25 fails \(-all\) and no DKIM signature\"" \
	"record without the IPv6 egress address: fail from 2001:db8::25"
like "$LINE" "verdict=reject spf=fail\(-all\)" "v4-only record: decision line"

# 13. the client's address plays no part: the same sender from 127.0.0.1
#     (which would pass any SPF evaluation that used it) still fails
send --from t10@auth-spffail.example --to bob@gmail.com \
	--header "From: <t10@auth-spffail.example>" --header "Subject: spf loopback" \
	--xclient-addr 127.0.0.1 --xclient-login alice
wait_delivered "spf loopback"
cli_remember "spf loopback" t10@auth-spffail.example bob@gmail.com "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=fail\(-all\) " \
	"SPF is checked from the egress addresses, not the client's"
like "$LINE" "verdict=reject spf=fail\(-all\) .* client=127\.0\.0\.1" \
	"loopback client: decision line"

# --- IPv6 egress only --------------------------------------------------------------

restart_milter "Mode tag" "EgressAddresses 2001:db8::25"

# 14. ip6: record, IPv6 egress: pass
send_auth v1@auth-v6.example v1@auth-v6.example bob@gmail.com "spf v6 pass"
wait_delivered "spf v6 pass"
cli_remember "spf v6 pass" v1@auth-v6.example bob@gmail.com "$MSG" "$LINE"
is "$HDR" "v=1 verdict=deliver spf=pass(ip6:2001:db8::/64) dkim=none dmarc=none providers=google:deliver host=mta.preflight.test" \
	"IPv6 egress with an ip6: record: SPF pass, Gmail accepts"
like "$LINE" "action=tag mode=tag verdict=deliver spf=pass\(ip6:2001:db8::/64\) dkim=none dmarc=none providers=google:deliver from=<v1@auth-v6\.example>" \
	"IPv6 pass: decision line"

# 15. ip4-only record, IPv6 egress: fail, named by the IPv6 address
send_auth v2@auth-v4only.example v2@auth-v4only.example bob@gmail.com \
	"spf v6 fail"
wait_delivered "spf v6 fail"
cli_remember "spf v6 fail" v2@auth-v4only.example bob@gmail.com "$MSG" "$LINE"
like "$HDR" "SPF for 2001:db8::25 fails \(-all\)" \
	"IPv6 egress against an ip4-only record: fail"
like "$LINE" "verdict=reject spf=fail\(-all\) .*from=<v2@auth-v4only\.example>" \
	"IPv6 fail: decision line"

# 16. Postfix delivered every tag-mode message
is "$(sink_count)" 13 "every tag-mode message reached the receiver"

# --- the CLI: preflight check-message on the same messages --------------------------

cli_agree
