#!/bin/bash
# t_auth_dmarc - DMARC of the From: domain as the receiver will see it,
# through the real Postfix: p=reject makes any receiver refuse (each with
# its own code), p=quarantine lands in the spam folder (flagged, delivered),
# p=none changes nothing; strict and relaxed alignment; sp= for a
# subdomain; the Organizational Domain under a two-label public suffix
# (co.uk) and directly under .test. SPF is the only authentication here
# (no signer); zones: tests/data/zones/auth-*.zone.
. "$(dirname "$0")/lib.sh"
plan 47

EGRESS="EgressAddresses 192.0.2.25, 2001:db8::25"

start_nsd
start_sink
start_milter "Mode enforce" "$EGRESS"
start_postfix

# --- enforce mode ----------------------------------------------------------

# 1. p=reject, SPF fails, no DKIM: a receiver without rules of its own
#    (example.net) refuses too; we defer with the generic code
send_auth m1@auth-reject.example m1@auth-reject.example carol@example.net \
	"dmarc reject enforce"
R="example\.net would refuse this \(550 5\.7\.1\): DMARC fails under p=reject of auth-reject\.example"
cli_remember "dmarc reject enforce" m1@auth-reject.example carol@example.net - \
	"$(milter_line "from=<m1@auth-reject\.example>")"
like "$(data_reply)" "^451 4\.7\.1 preflight: $R\$" \
	"p=reject to example.net: deferred, 550 5.7.1 predicted"
like "$(milter_line "from=<m1@auth-reject\.example>")" \
	"action=defer mode=enforce verdict=reject spf=fail\(-all\) dkim=none dmarc=fail\(p=reject\) providers=default:reject:5\.7\.1 finding=auth reason=\"$R\" from=<m1@auth-reject\.example> rcpts=1" \
	"p=reject: decision line"

# 2. p=quarantine: accepted by the receiver into the spam folder; flagged
#    with OnAuthThrottle (default tag), so delivered in enforce mode
send_auth m2@auth-quarantine.example m2@auth-quarantine.example \
	carol@example.net "dmarc quarantine enforce"
like "$(data_reply)" "^250 2\.0\.0 Ok: queued" "p=quarantine: accepted in enforce mode"
wait_delivered "dmarc quarantine enforce"
cli_remember "dmarc quarantine enforce" m2@auth-quarantine.example carol@example.net "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=deliver spf=fail\(-all\) dkim=none dmarc=fail\(p=quarantine\) providers=default:deliver[^ ]* action=tag finding=auth reason=\"example\.net would deliver this to spam: DMARC fails under p=quarantine of auth-quarantine\.example\" host=mta\.preflight\.test\$" \
	"p=quarantine: X-Preflight says spam folder"
unlike "$HDR" "providers=[^ ]*\(spam " \
	"p=quarantine: the providers word is whole"
like "$LINE" "action=tag mode=enforce verdict=deliver spf=fail\(-all\) dkim=none dmarc=fail\(p=quarantine\) providers=default:deliver[^ ]* finding=auth reason=\"example\.net would deliver this to spam: " \
	"p=quarantine: decision line names the finding"

# 3. p=none: the failure changes nothing
send_auth m3@auth-none.example m3@auth-none.example carol@example.net \
	"dmarc none enforce"
like "$(data_reply)" "^250 2\.0\.0 Ok: queued" "p=none: accepted"
wait_delivered "dmarc none enforce"
cli_remember "dmarc none enforce" m3@auth-none.example carol@example.net "$MSG" "$LINE"
is "$HDR" "v=1 verdict=deliver spf=fail(-all) dkim=none dmarc=fail(p=none) providers=default:deliver host=mta.preflight.test" \
	"p=none: delivered, no finding"
like "$LINE" "action=tag mode=enforce verdict=deliver spf=fail\(-all\) dkim=none dmarc=fail\(p=none\) providers=default:deliver from=<m3@auth-none\.example>" \
	"p=none: decision line without a finding"

# --- tag mode ----------------------------------------------------------------

restart_milter "Mode tag" "$EGRESS"

# 4. p=reject to every kind of receiver: each predicts its own reply
send_auth t1@auth-reject.example t1@auth-reject.example \
	bob@gmail.com,ann@yahoo.com,joe@outlook.com,carol@example.net \
	"dmarc reject all"
wait_delivered "dmarc reject all"
cli_remember "dmarc reject all" t1@auth-reject.example bob@gmail.com,ann@yahoo.com,joe@outlook.com,carol@example.net "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=fail\(-all\) dkim=none dmarc=fail\(p=reject\) providers=google:reject:5\.7\.26,yahoo:reject:5\.7\.9,microsoft:reject:5\.7\.509,default:reject:5\.7\.1 action=defer finding=auth reason=\"gmail\.com would refuse this \(550 5\.7\.26\): DMARC fails under p=reject of auth-reject\.example; also: spf_or_dkim\"" \
	"p=reject: Gmail 5.7.26, Yahoo 5.7.9, Microsoft 5.7.509, others 5.7.1"
like "$LINE" "action=tag mode=tag verdict=reject .*providers=google:reject:5\.7\.26,yahoo:reject:5\.7\.9,microsoft:reject:5\.7\.509,default:reject:5\.7\.1 would=defer finding=auth .* rcpts=4 " \
	"p=reject to four receivers: decision line"

# 5. strict alignment (aspf=s): SPF passes for mail.auth-strict.example,
#    which is not the From: domain: DMARC fails
send_auth t2@mail.auth-strict.example t2@auth-strict.example carol@example.net \
	"dmarc strict"
wait_delivered "dmarc strict"
cli_remember "dmarc strict" t2@mail.auth-strict.example carol@example.net "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=pass\(ip4:192\.0\.2\.25\) dkim=none dmarc=fail\(p=reject\) providers=default:reject:5\.7\.1 action=defer finding=auth reason=\"example\.net would refuse this \(550 5\.7\.1\): DMARC fails under p=reject of auth-strict\.example\"" \
	"aspf=s: a subdomain's SPF pass does not align, DMARC fails"
like "$LINE" "verdict=reject spf=pass\(ip4:192\.0\.2\.25\) dkim=none dmarc=fail\(p=reject\) .*would=defer" \
	"aspf=s: decision line"

# 6. relaxed alignment (the default): the same shape passes
send_auth t3@mail.auth-relaxed.example t3@auth-relaxed.example \
	carol@example.net "dmarc relaxed"
wait_delivered "dmarc relaxed"
cli_remember "dmarc relaxed" t3@mail.auth-relaxed.example carol@example.net "$MSG" "$LINE"
is "$HDR" "v=1 verdict=deliver spf=pass(ip4:192.0.2.25) dkim=none dmarc=pass(p=reject) providers=default:deliver host=mta.preflight.test" \
	"relaxed: the subdomain's SPF pass aligns, DMARC passes"
like "$LINE" "verdict=deliver spf=pass\(ip4:192\.0\.2\.25\) dkim=none dmarc=pass\(p=reject\) providers=default:deliver from=<t3@mail\.auth-relaxed\.example>" \
	"relaxed: decision line"

# 7. sp=reject for subdomains while the domain itself says p=none
send_auth t4@news.auth-sp.example t4@news.auth-sp.example carol@example.net \
	"dmarc sp subdomain"
wait_delivered "dmarc sp subdomain"
cli_remember "dmarc sp subdomain" t4@news.auth-sp.example carol@example.net "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=fail\(-all\) dkim=none dmarc=fail\(p=[a-z]+\) providers=default:reject:5\.7\.1 action=defer finding=auth reason=\"example\.net would refuse this \(550 5\.7\.1\): DMARC fails under p=reject of auth-sp\.example\"" \
	"sp=reject applies to news.auth-sp.example"
like "$LINE" "verdict=reject .*dmarc=fail.* would=defer" "sp=reject: decision line"
send_auth t5@auth-sp.example t5@auth-sp.example carol@example.net \
	"dmarc sp org"
wait_delivered "dmarc sp org"
cli_remember "dmarc sp org" t5@auth-sp.example carol@example.net "$MSG" "$LINE"
is "$HDR" "v=1 verdict=deliver spf=fail(-all) dkim=none dmarc=fail(p=none) providers=default:deliver host=mta.preflight.test" \
	"p=none applies to auth-sp.example itself"
unlike "$LINE" "finding=" "p=none of the organization: no finding"

# 8. under co.uk (a two-label public suffix): the Organizational Domain is
#    auth-shop.co.uk, so news.auth-shop.co.uk aligns with it
send_auth t6@auth-shop.co.uk t6@news.auth-shop.co.uk carol@example.net \
	"dmarc couk aligned"
wait_delivered "dmarc couk aligned"
cli_remember "dmarc couk aligned" t6@auth-shop.co.uk carol@example.net "$MSG" "$LINE"
is "$HDR" "v=1 verdict=deliver spf=pass(ip4:192.0.2.25) dkim=none dmarc=pass(p=quarantine) providers=default:deliver host=mta.preflight.test" \
	"co.uk: news.auth-shop.co.uk aligns with auth-shop.co.uk's SPF pass"
like "$LINE" "verdict=deliver spf=pass\(ip4:192\.0\.2\.25\) dkim=none dmarc=pass\(p=quarantine\) .*from=<t6@auth-shop\.co\.uk>" \
	"co.uk aligned: decision line"
send_auth t7@news.auth-shop.co.uk t7@news.auth-shop.co.uk carol@example.net \
	"dmarc couk sp"
wait_delivered "dmarc couk sp"
cli_remember "dmarc couk sp" t7@news.auth-shop.co.uk carol@example.net "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=deliver spf=fail\(-all\) dkim=none dmarc=fail\(p=quarantine\) providers=default:deliver[^ ]* action=tag finding=auth reason=\"example\.net would deliver this to spam: DMARC fails under p=quarantine of auth-shop\.co\.uk\"" \
	"co.uk: the subdomain gets auth-shop.co.uk's sp=quarantine"
like "$LINE" "verdict=deliver .*dmarc=fail.*finding=auth reason=\"example\.net would deliver this to spam" \
	"co.uk subdomain: decision line"
send_auth t8@news.auth-shop.co.uk t8@auth-shop.co.uk carol@example.net \
	"dmarc couk org"
wait_delivered "dmarc couk org"
cli_remember "dmarc couk org" t8@news.auth-shop.co.uk carol@example.net "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=fail\(-all\) dkim=none dmarc=fail\(p=reject\) providers=default:reject:5\.7\.1 .*DMARC fails under p=reject of auth-shop\.co\.uk\"" \
	"co.uk: the organization itself gets p=reject (SPF of a subdomain fails)"
like "$LINE" "verdict=reject .*dmarc=fail\(p=reject\)" "co.uk organization: decision line"

# 9. directly under .test (no Public Suffix List rule): the same
send_auth t9@auth-org.test t9@news.auth-org.test carol@example.net \
	"dmarc test aligned"
wait_delivered "dmarc test aligned"
cli_remember "dmarc test aligned" t9@auth-org.test carol@example.net "$MSG" "$LINE"
is "$HDR" "v=1 verdict=deliver spf=pass(ip4:192.0.2.25) dkim=none dmarc=pass(p=quarantine) providers=default:deliver host=mta.preflight.test" \
	".test: news.auth-org.test aligns with auth-org.test's SPF pass"
like "$LINE" "verdict=deliver spf=pass\(ip4:192\.0\.2\.25\) dkim=none dmarc=pass\(p=quarantine\)" \
	".test aligned: decision line"
send_auth t10@news.auth-org.test t10@news.auth-org.test carol@example.net \
	"dmarc test sp"
wait_delivered "dmarc test sp"
cli_remember "dmarc test sp" t10@news.auth-org.test carol@example.net "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=deliver spf=fail\(-all\) dkim=none dmarc=fail\(p=quarantine\) providers=default:deliver[^ ]* action=tag finding=auth reason=\"example\.net would deliver this to spam: DMARC fails under p=quarantine of auth-org\.test\"" \
	".test: the subdomain gets sp=quarantine"
like "$LINE" "verdict=deliver .*finding=auth reason=\"example\.net would deliver this to spam" \
	".test subdomain: decision line"

# 10. no DMARC record anywhere: nothing to honour
send_auth t11@auth-spffail.example t11@auth-spffail.example carol@example.net \
	"dmarc absent"
wait_delivered "dmarc absent"
cli_remember "dmarc absent" t11@auth-spffail.example carol@example.net "$MSG" "$LINE"
is "$HDR" "v=1 verdict=deliver spf=fail(-all) dkim=none dmarc=none providers=default:deliver host=mta.preflight.test" \
	"no DMARC record: dmarc=none, deliver"
like "$LINE" "verdict=deliver spf=fail\(-all\) dkim=none dmarc=none providers=default:deliver from=<t11@" \
	"no DMARC record: decision line"

# the deferred message never reached the receiver; all others did
is "$(sink_count)" 13 "13 messages delivered"
is "$(grep -c 'milter-reject: END-OF-MESSAGE' "$PF_LOG")" 1 "one message refused (the p=reject one)"

# --- the CLI: preflight check-message on the same messages --------------------------

cli_agree
