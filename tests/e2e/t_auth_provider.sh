#!/bin/bash
# t_auth_provider - what each receiver among the recipients would do,
# through the real Postfix: a Workspace domain recognised as Google by its
# MX (aspmx.l.google.com) is a business tenant, where only the DMARC policy
# counts; Gmail and Yahoo refuse unauthenticated mail, Microsoft's consumer
# service only DMARC failures; a bulk sender (BulkSenderDomains) meets
# Gmail's bulk rules. Enforce mode decides for the whole message.
# Zones: tests/data/zones/auth-*.zone.
. "$(dirname "$0")/lib.sh"
plan 32

EGRESS="EgressAddresses 192.0.2.25, 2001:db8::25"

start_nsd
start_sink
start_milter "Mode tag" "$EGRESS" "BulkSenderDomains auth-bulk.example"
start_postfix

# 1. SPF fails, no DKIM, no DMARC record, to a Workspace tenant: delivered
#    unflagged (the tenant's filters only honour DMARC policies)
send_auth w1@auth-spffail.example w1@auth-spffail.example \
	ann@auth-workspace.example "workspace unauthenticated"
wait_delivered "workspace unauthenticated"
cli_remember "workspace unauthenticated" w1@auth-spffail.example ann@auth-workspace.example "$MSG" "$LINE"
is "$HDR" "v=1 verdict=deliver spf=fail(-all) dkim=none dmarc=none providers=google-tenant:deliver host=mta.preflight.test" \
	"Workspace domain (MX aspmx.l.google.com): google-tenant, deliver"
like "$LINE" "action=tag mode=tag verdict=deliver spf=fail\(-all\) dkim=none dmarc=none providers=google-tenant:deliver from=<w1@auth-spffail\.example>" \
	"Workspace tenant: decision line, no finding"

# 2. the same message to Gmail and the Workspace domain: two Googles
send_auth w2@auth-spffail.example w2@auth-spffail.example \
	bob@gmail.com,ann@auth-workspace.example "workspace and gmail"
wait_delivered "workspace and gmail"
cli_remember "workspace and gmail" w2@auth-spffail.example bob@gmail.com,ann@auth-workspace.example "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=fail\(-all\) dkim=none dmarc=none providers=google:reject:5\.7\.26,google-tenant:deliver action=defer finding=auth reason=\"gmail\.com would refuse this \(550 5\.7\.26\): SPF for 192\.0\.2\.25 fails \(-all\) and no DKIM signature\"" \
	"gmail.com refuses where the Workspace tenant accepts"
like "$LINE" "verdict=reject .*providers=google:reject:5\.7\.26,google-tenant:deliver would=defer .*rcpts=2 " \
	"two Googles: decision line"

# 3. DMARC p=reject fails: the tenant refuses too, with Google's code
send_auth w3@auth-reject.example w3@auth-reject.example \
	ann@auth-workspace.example "workspace dmarc reject"
wait_delivered "workspace dmarc reject"
cli_remember "workspace dmarc reject" w3@auth-reject.example ann@auth-workspace.example "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=fail\(-all\) dkim=none dmarc=fail\(p=reject\) providers=google-tenant:reject:5\.7\.26 action=defer finding=auth reason=\"auth-workspace\.example would refuse this \(550 5\.7\.26\): DMARC fails under p=reject of auth-reject\.example\"" \
	"Workspace tenant under p=reject: refuses with 550 5.7.26"
like "$LINE" "verdict=reject .*providers=google-tenant:reject:5\.7\.26 would=defer finding=auth" \
	"Workspace tenant, p=reject: decision line"

# 4. Yahoo demands SPF or DKIM as Gmail does, with its own code
send_auth w4@auth-spffail.example w4@auth-spffail.example ann@yahoo.com \
	"yahoo unauthenticated"
wait_delivered "yahoo unauthenticated"
cli_remember "yahoo unauthenticated" w4@auth-spffail.example ann@yahoo.com "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=fail\(-all\) dkim=none dmarc=none providers=yahoo:reject:5\.7\.9 action=defer finding=auth reason=\"yahoo\.com would refuse this \(550 5\.7\.9\): SPF for 192\.0\.2\.25 fails \(-all\) and no DKIM signature\"" \
	"yahoo.com: 550 5.7.9"
like "$LINE" "providers=yahoo:reject:5\.7\.9 would=defer" "yahoo.com: decision line"

# 5. Microsoft's consumer service only refuses DMARC failures under p=reject
send_auth w5@auth-spffail.example w5@auth-spffail.example joe@outlook.com \
	"microsoft unauthenticated"
wait_delivered "microsoft unauthenticated"
cli_remember "microsoft unauthenticated" w5@auth-spffail.example joe@outlook.com "$MSG" "$LINE"
is "$HDR" "v=1 verdict=deliver spf=fail(-all) dkim=none dmarc=none providers=microsoft:deliver host=mta.preflight.test" \
	"outlook.com: no DMARC policy to honour, deliver"
unlike "$LINE" "finding=" "outlook.com: no finding"

# 6. a bulk sender: SPF passes, but no DKIM and no DMARC record; Gmail's
#    bulk rules refuse (5.7.30 first), the Workspace tenant does not care
send_auth w6@auth-bulk.example w6@auth-bulk.example \
	bob@gmail.com,ann@auth-workspace.example "bulk sender"
wait_delivered "bulk sender"
cli_remember "bulk sender" w6@auth-bulk.example bob@gmail.com,ann@auth-workspace.example "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=pass\(ip4:192\.0\.2\.25\) dkim=none dmarc=none providers=google:reject:5\.7\.30,google-tenant:deliver conform=unsubscribe,unsubscribe-post action=defer finding=auth reason=\"gmail\.com would refuse this \(550 5\.7\.30\): no DKIM signature; also: dmarc_record" \
	"bulk sender: Gmail's bulk rules want DKIM (5.7.30) and a DMARC record"
like "$LINE" "verdict=reject spf=pass.*providers=google:reject:5\.7\.30,google-tenant:deliver conform=unsubscribe,unsubscribe-post would=defer" \
	"bulk sender: decision line"

# 7. the same sender as a non-bulk sender would be fine at Gmail
send_auth w7@auth-pass.example w7@auth-pass.example bob@gmail.com \
	"not bulk"
wait_delivered "not bulk"
cli_remember "not bulk" w7@auth-pass.example bob@gmail.com "$MSG" "$LINE"
is "$HDR" "v=1 verdict=deliver spf=pass(ip4:192.0.2.25) dkim=none dmarc=pass(p=reject) providers=google:deliver host=mta.preflight.test" \
	"a non-bulk sender with SPF and DMARC passing: Gmail accepts"
unlike "$LINE" "finding=" "non-bulk sender: no finding"

# 8. alignment without a DMARC record: auth-bulk.example's SPF passes for
#    the From: domain itself, so From: is aligned (Gmail's 421 4.7.32 asks
#    for alignment, not for a record). With only that rule the message
#    passes: alignment is computed (relaxed) even without a record.
restart_milter "Mode tag" "$EGRESS" "BulkSenderDomains auth-bulk.example" \
	"ProviderRule google bulk dmarc_aligned"
send_auth w8@auth-bulk.example w8@auth-bulk.example bob@gmail.com \
	"bulk aligned no record"
wait_delivered "bulk aligned no record"
like "$HDR" "^v=1 verdict=reject spf=pass\(ip4:192\.0\.2\.25\) dkim=none dmarc=none providers=google:deliver conform=unsubscribe,unsubscribe-post action=tag finding=conform " \
	"aligned SPF pass without a DMARC record meets dmarc_aligned (the bulk message's missing one-click unsubscribe is its own finding)"

# --- enforce mode: one decision for the whole message ---------------------------

restart_milter "Mode enforce" "$EGRESS" "BulkSenderDomains auth-bulk.example"

# 9. Workspace alone: accepted and delivered
send_auth e1@auth-spffail.example e1@auth-spffail.example \
	ann@auth-workspace.example "enforce workspace"
like "$(data_reply)" "^250 2\.0\.0 Ok: queued" "enforce: Workspace tenant alone, accepted"
wait_delivered "enforce workspace"
cli_remember "enforce workspace" e1@auth-spffail.example ann@auth-workspace.example "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=deliver .*providers=google-tenant:deliver host=" \
	"enforce: Workspace tenant alone, delivered"

# 10. Gmail among the recipients: the whole message waits (451), the
#    Workspace recipient too
send_auth e2@auth-spffail.example e2@auth-spffail.example \
	ann@auth-workspace.example,bob@gmail.com "enforce mixed"
cli_remember "enforce mixed" e2@auth-spffail.example ann@auth-workspace.example,bob@gmail.com - \
	"$(milter_line "from=<e2@auth-spffail\.example>")"
like "$(data_reply)" "^451 4\.7\.26 preflight: gmail\.com would refuse this \(550 5\.7\.26\): SPF for 192\.0\.2\.25 fails \(-all\) and no DKIM signature\$" \
	"enforce: Gmail among the recipients defers the message"
like "$(milter_line "from=<e2@auth-spffail\.example>")" \
	"action=defer mode=enforce verdict=reject .*providers=google-tenant:deliver,google:reject:5\.7\.26 finding=auth .*rcpts=2 " \
	"enforce mixed: decision line"

# 11. OnAuthReject reject: Gmail's own code, 5xx
restart_milter "Mode enforce" "$EGRESS" "OnAuthReject reject"
send_auth e3@auth-spffail.example e3@auth-spffail.example bob@gmail.com \
	"enforce reject"
cli_remember "enforce reject" e3@auth-spffail.example bob@gmail.com - \
	"$(milter_line "from=<e3@auth-spffail\.example>")"
like "$(data_reply)" "^550 5\.7\.26 preflight: gmail\.com would refuse this \(550 5\.7\.26\): " \
	"OnAuthReject reject: 550 5.7.26"
like "$(milter_line "from=<e3@auth-spffail\.example>")" "action=reject mode=enforce verdict=reject " \
	"OnAuthReject reject: decision line"

is "$(sink_count)" 9 "nine messages delivered"

# --- the CLI: preflight check-message on the same messages --------------------------

cli_agree
