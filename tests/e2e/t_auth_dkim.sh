#!/bin/bash
# t_auth_dkim - DKIM as the receiver will see it. opendkim signs BEFORE
# preflight in smtpd_milters, so preflight verifies the fresh signature:
# an aligned SPF+DKIM+DMARC pass, an SPF failure carried by an aligned
# signature, a key that does not match DNS, a signature of another domain
# under p=reject. Without a signer in the chain, preflight predicts the
# signature from the signer's KeyTable and SigningTable (SignerKeyTable,
# SignerSigningTable): a matching key, and one that does not match DNS.
# Keys: tests/data/dkim/auth (2048 bits); zones: tests/data/zones/auth-*.
. "$(dirname "$0")/lib.sh"
plan 39

KEYS=$SRC/tests/data/dkim/auth
EGRESS="EgressAddresses 192.0.2.25, 2001:db8::25"

start_nsd
start_sink
# the signer preflight predicts: auth-predict.example with the key DNS has,
# auth-badkey.example with one it does not have
dkim_tables "$T/signer" nobody \
	"*@auth-predict.example auth-predict.example a $KEYS/a.private" \
	"*@auth-badkey.example auth-badkey.example a $KEYS/b.private"
start_milter "Mode enforce" "$EGRESS" \
	"SignerKeyTable file:$T/signer/KeyTable" \
	"SignerSigningTable refile:$T/signer/SigningTable"
# the signer in the chain: good keys for auth-pass and auth-dkimonly, the
# wrong key for auth-badkey, and auth-reject.example signed as auth-pass
start_opendkim \
	"*@auth-pass.example auth-pass.example a $KEYS/a.private" \
	"*@auth-dkimonly.example auth-dkimonly.example a $KEYS/a.private" \
	"*@auth-badkey.example auth-badkey.example a $KEYS/b.private" \
	"*@auth-reject.example auth-pass.example a $KEYS/a.private"
start_postfix_signed

# 1. aligned SPF + DKIM + DMARC (p=reject) pass, to Gmail: nothing flagged
send_auth d1@auth-pass.example d1@auth-pass.example bob@gmail.com \
	"aligned pass"
like "$(data_reply)" "^250 2\.0\.0 Ok: queued" "aligned pass: accepted"
wait_delivered "aligned pass"
cli_remember "aligned pass" d1@auth-pass.example bob@gmail.com "$MSG" "$LINE"
like "$(sink_header "$MSG" DKIM-Signature)" "a=rsa-sha256; .*d=auth-pass\.example; s=a;" \
	"aligned pass: opendkim signed the message (rsa-sha256, d=auth-pass.example)"
is "$HDR" "v=1 verdict=deliver spf=pass(ip4:192.0.2.25) dkim=pass(d=auth-pass.example) dmarc=pass(p=reject) providers=google:deliver host=mta.preflight.test" \
	"aligned pass: X-Preflight says deliver, spf/dkim/dmarc pass"
like "$LINE" "$QID: preflight: action=tag mode=enforce verdict=deliver spf=pass\(ip4:192\.0\.2\.25\) dkim=pass\(d=auth-pass\.example\) dmarc=pass\(p=reject\) providers=google:deliver from=<d1@auth-pass\.example> rcpts=1 path=smtp auth=alice client=192\.0\.2\.77\$" \
	"aligned pass: decision line, no finding"

# 2. SPF -all fails, but an aligned signature passes: Gmail accepts
send_auth d2@auth-dkimonly.example d2@auth-dkimonly.example bob@gmail.com \
	"dkim carries"
like "$(data_reply)" "^250 2\.0\.0 Ok: queued" "SPF fail + aligned DKIM: accepted in enforce mode"
wait_delivered "dkim carries"
cli_remember "dkim carries" d2@auth-dkimonly.example bob@gmail.com "$MSG" "$LINE"
is "$HDR" "v=1 verdict=deliver spf=fail(-all) dkim=pass(d=auth-dkimonly.example) dmarc=pass(p=reject) providers=google:deliver host=mta.preflight.test" \
	"SPF fail + aligned DKIM: delivered, DMARC passes through DKIM"
like "$LINE" "action=tag mode=enforce verdict=deliver spf=fail\(-all\) dkim=pass\(d=auth-dkimonly\.example\) dmarc=pass\(p=reject\) providers=google:deliver from=" \
	"SPF fail + aligned DKIM: decision line, no finding"
unlike "$LINE" "finding=" "SPF fail + aligned DKIM: no finding"

# 3. opendkim signs with a key that does not match DNS: dkim fails; with
#    SPF failing too, Gmail would refuse and we defer
send_auth d3@auth-badkey.example d3@auth-badkey.example bob@gmail.com \
	"dkim bad key"
R="gmail\.com would refuse this \(550 5\.7\.26\): SPF for 192\.0\.2\.25 fails \(-all\) and DKIM signature d=auth-badkey\.example does not verify"
like "$(data_reply)" "^451 4\.7\.26 preflight: $R\$" \
	"key not matching DNS: deferred, the reply says the signature does not verify"
L=$(milter_line "from=<d3@auth-badkey\.example>")
like "$L" "action=defer mode=enforce verdict=reject spf=fail\(-all\) dkim=fail-header\(d=auth-badkey\.example\) dmarc=none providers=google:reject:5\.7\.26 finding=auth reason=\"$R\"" \
	"key not matching DNS: decision line says dkim=fail"

# 4. a passing signature of another domain (d=auth-pass.example) on mail
#    From: auth-reject.example (p=reject): DMARC fails; any receiver refuses
send_auth d4@auth-reject.example d4@auth-reject.example carol@example.net \
	"dkim unaligned"
R="example\.net would refuse this \(550 5\.7\.1\): DMARC fails under p=reject of auth-reject\.example"
like "$(data_reply)" "^451 4\.7\.1 preflight: $R\$" \
	"unaligned signature under p=reject: deferred with the default code"
L=$(milter_line "from=<d4@auth-reject\.example>")
like "$L" "action=defer mode=enforce verdict=reject spf=fail\(-all\) dkim=pass\(d=auth-pass\.example\) dmarc=fail\(p=reject\) providers=default:reject:5\.7\.1 finding=auth reason=\"$R\"" \
	"unaligned signature: decision line, dkim=pass but dmarc=fail"

# the four signatures name one key (auth-*.example publish the same): it
# was decoded once, then found decoded (the stats line at exit)
stop_milter
like "$(grep ' stats: ' "$MILTER_LOG")" " dkim_key_hits=3 dkim_key_misses=1 " \
	"one DKIM key for four signatures: decoded once, kept for the other three"

# 5. the same four in tag mode: the header tells what enforce would do
start_milter "Mode tag" "$EGRESS" \
	"SignerKeyTable file:$T/signer/KeyTable" \
	"SignerSigningTable refile:$T/signer/SigningTable"
send_auth d5@auth-badkey.example d5@auth-badkey.example bob@gmail.com \
	"dkim bad key tag"
wait_delivered "dkim bad key tag"
cli_remember "dkim bad key tag" d5@auth-badkey.example bob@gmail.com "$MSG" "$LINE"
like "$(sink_header "$MSG" DKIM-Signature)" "d=auth-badkey\.example; s=a;" \
	"bad key, tag mode: delivered with opendkim's signature"
like "$HDR" "^v=1 verdict=reject spf=fail\(-all\) dkim=fail-header\(d=auth-badkey\.example\) dmarc=none providers=google:reject:5\.7\.26 action=defer finding=auth reason=\"gmail\.com would refuse this \(550 5\.7\.26\): SPF for 192\.0\.2\.25 fails \(-all\) and DKIM signature d=auth-badkey\.example does not verify\"" \
	"bad key, tag mode: X-Preflight predicts Gmail's refusal"
like "$LINE" "action=tag mode=tag verdict=reject .*dkim=fail-header\(d=auth-badkey\.example\).* would=defer finding=auth" \
	"bad key, tag mode: decision line"

send_auth d6@auth-reject.example d6@auth-reject.example carol@example.net \
	"dkim unaligned tag"
wait_delivered "dkim unaligned tag"
cli_remember "dkim unaligned tag" d6@auth-reject.example carol@example.net "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=fail\(-all\) dkim=pass\(d=auth-pass\.example\) dmarc=fail\(p=reject\) providers=default:reject:5\.7\.1 action=defer finding=auth " \
	"unaligned signature, tag mode: X-Preflight says reject (DMARC)"
like "$LINE" "verdict=reject .*dmarc=fail\(p=reject\) .*would=defer" \
	"unaligned signature, tag mode: decision line"

# --- no signer in the chain: the prediction ----------------------------------------

postfix_milters "inet:127.0.0.1:$MILTER_PORT"

# 6. the SigningTable picks a key that matches DNS: predicted pass, which
#    aligns: DMARC passes (p=reject), Gmail accepts despite SPF -all
send_auth p1@auth-predict.example p1@auth-predict.example bob@gmail.com \
	"predict pass"
wait_delivered "predict pass"
cli_remember "predict pass" p1@auth-predict.example bob@gmail.com "$MSG" "$LINE"
is "$(sink_header "$MSG" DKIM-Signature)" "" "predict pass: no signer in the chain"
is "$HDR" "v=1 verdict=deliver spf=fail(-all) dkim=predicted-sign(d=auth-predict.example,s=a) dmarc=pass(p=reject) providers=google:deliver host=mta.preflight.test" \
	"predict pass: predicted signature, DMARC pass, Gmail accepts"
like "$LINE" "action=tag mode=tag verdict=deliver spf=fail\(-all\) dkim=predicted-sign\(d=auth-predict\.example,s=a\) dmarc=pass\(p=reject\) providers=google:deliver from=<p1@auth-predict\.example>" \
	"predict pass: decision line"

# 7. the key does not match the one in DNS: a key problem, Gmail refuses
send_auth p2@auth-badkey.example p2@auth-badkey.example bob@gmail.com \
	"predict bad key"
wait_delivered "predict bad key"
cli_remember "predict bad key" p2@auth-badkey.example bob@gmail.com "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=fail\(-all\) dkim=predicted-keyproblem\(d=auth-badkey\.example,s=a\) dmarc=none providers=google:reject:5\.7\.26 action=defer finding=auth reason=\"gmail\.com would refuse this \(550 5\.7\.26\): SPF for 192\.0\.2\.25 fails \(-all\) and DKIM signature d=auth-badkey\.example does not verify\"" \
	"predict mismatching key: key problem, Gmail would refuse"
like "$LINE" "verdict=reject spf=fail\(-all\) dkim=predicted-keyproblem\(d=auth-badkey\.example,s=a\) .*would=defer finding=auth" \
	"predict mismatching key: decision line"

# 8. no SigningTable entry: nothing will sign, the fix says so
send_auth p3@auth-spffail.example p3@auth-spffail.example bob@gmail.com \
	"predict nosign"
wait_delivered "predict nosign"
cli_remember "predict nosign" p3@auth-spffail.example bob@gmail.com "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=reject spf=fail\(-all\) dkim=none dmarc=none providers=google:reject:5\.7\.26 " \
	"no SigningTable entry: dkim=none, Gmail would refuse"
like "$LINE" "verdict=reject spf=fail\(-all\) dkim=none" "no SigningTable entry: decision line"

# 9. enforce mode, the two predictions: pass delivered, key problem deferred
restart_milter "Mode enforce" "$EGRESS" \
	"SignerKeyTable file:$T/signer/KeyTable" \
	"SignerSigningTable refile:$T/signer/SigningTable"
send_auth p4@auth-predict.example p4@auth-predict.example bob@gmail.com \
	"predict pass enforce"
like "$(data_reply)" "^250 2\.0\.0 Ok: queued" "enforce: predicted pass accepted"
wait_delivered "predict pass enforce"
cli_remember "predict pass enforce" p4@auth-predict.example bob@gmail.com "$MSG" "$LINE"
like "$HDR" "^v=1 verdict=deliver .*dkim=predicted-sign\(d=auth-predict\.example,s=a\) dmarc=pass\(p=reject\)" \
	"enforce: predicted pass delivered"
send_auth p5@auth-badkey.example p5@auth-badkey.example bob@gmail.com \
	"predict bad key enforce"
cli_remember "predict bad key enforce" p5@auth-badkey.example bob@gmail.com - \
	"$(milter_line "from=<p5@auth-badkey\.example>")"
like "$(data_reply)" "^451 4\.7\.26 preflight: gmail\.com would refuse this \(550 5\.7\.26\): SPF for 192\.0\.2\.25 fails \(-all\) and DKIM signature d=auth-badkey\.example does not verify\$" \
	"enforce: predicted key problem deferred"
like "$(milter_line "from=<p5@auth-badkey\.example>")" "action=defer mode=enforce verdict=reject .*dkim=predicted-keyproblem" \
	"enforce: predicted key problem, decision line"

# every accepted message was delivered once
is "$(sink_count)" 8 "the receiver got the eight accepted messages"

# --- the CLI: preflight check-message on the same messages --------------------------

cli_agree
