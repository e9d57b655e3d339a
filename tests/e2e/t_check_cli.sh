#!/bin/bash
# preflight check-message and check-domain against a real DNS server (nsd
# serving tests/data/zones: cli-pass.example does everything right,
# cli-fail.example and the names below it get things wrong), and
# check-message against the milter itself: the same message through a
# private Postfix gives the same decision line. Messages are in
# tests/data/messages; cli-signed.eml is signed with c=simple/simple by
# tests/data/dkim/good.private, so every byte of its folded header fields
# must reach the verifier as it was signed.
. "$(dirname "$0")/lib.sh"
plan 46

M=$SRC/tests/data/messages
D=$SRC/tests/data/dkim
NS=127.0.0.1@$DNS_PORT
EGRESS=203.0.113.5 # listed in cli-pass.example's SPF record only
OTHER=192.0.2.99    # listed nowhere
start_nsd
echo "DnsTimeout $DNS_TIMEOUT" >"$T/cli.conf"

# cm ARGS... - check-message with the test config; output in $out, status in $rc
cm() {
	rc=0
	out=$("$PFL_CLI" check-message -c "$T/cli.conf" --nameserver "$NS" "$@" 2>&1) || rc=$?
}
# cdom ARGS... - check-domain likewise
cdom() {
	rc=0
	out=$("$PFL_CLI" check-domain -c "$T/cli.conf" --nameserver "$NS" "$@" 2>&1) || rc=$?
}
# line ERE - the lines of $out matching ERE
line() { printf '%s\n' "$out" | grep -E -- "$1"; }
# jget FILE PATH - a value of a JSON file: PATH is keys and list indexes
# joined by dots; null, true and false as in JSON
jget() {
	python3 - "$@" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)
PY
}

# --- check-message ---------------------------------------------------------------
cm --mail-from carol@cli-pass.example --rcpt dave@gmail.com --egress-ip $EGRESS "$M/cli-pass.eml"
is "$rc" 0 "aligned SPF pass: exit 0"
is "$out" "preflight: action=tag mode=enforce verdict=deliver spf=pass(ip4:$EGRESS) dkim=none dmarc=pass(p=reject) providers=google:deliver from=<carol@cli-pass.example> rcpts=1" \
	"aligned SPF pass: the milter's decision line, verdict deliver"

cm --mail-from frank@cli-fail.example --rcpt grace@gmail.com --egress-ip $EGRESS "$M/cli-fail.eml"
is "$rc" 2 "SPF -all fail, no DKIM, to gmail.com: exit 2"
like "$out" '^preflight: action=defer mode=enforce verdict=reject spf=fail\(-all\) dkim=none dmarc=fail\(p=none\) providers=google:reject:5\.7\.26 finding=auth ' \
	"verdict reject; enforce mode defers (OnAuthReject)"
like "$out" 'reason="gmail\.com would refuse this \(550 5\.7\.26\): SPF for 203\.0\.113\.5 fails \(-all\) and no DKIM signature" from=<frank@cli-fail\.example> rcpts=1$' \
	"reason names Gmail's 550 5.7.26"

# --json
rc=0
"$PFL_CLI" check-message -c "$T/cli.conf" --nameserver "$NS" --json \
	--mail-from frank@cli-fail.example --rcpt grace@gmail.com \
	--egress-ip $EGRESS "$M/cli-fail.eml" >"$T/fail.json" 2>&1 || rc=$?
is "$rc" 2 "--json: the same exit status"
ok "--json prints valid JSON" python3 -m json.tool "$T/fail.json"
is "$(jget "$T/fail.json" verdict)/$(jget "$T/fail.json" action)" "reject/defer" \
	"--json: the same verdict and action"
is "$(jget "$T/fail.json" spf.result)/$(jget "$T/fail.json" spf.mechanism)/$(jget "$T/fail.json" dkim.result)/$(jget "$T/fail.json" dmarc.result)" \
	"fail/-all/none/fail" "--json: SPF, DKIM and DMARC results"
is "$(jget "$T/fail.json" providers.0.provider) $(jget "$T/fail.json" providers.0.reply)" \
	"google 550 5.7.26" "--json: the provider with its predicted reply"
like "$(jget "$T/fail.json" reason)" '^gmail\.com would refuse this \(550 5\.7\.26\)' "--json: reason"
is "$(jget "$T/fail.json" fix)" "allow 203.0.113.5 in the SPF record of cli-fail.example" "--json: fix"

"$PFL_CLI" check-message -c "$T/cli.conf" --nameserver "$NS" --json \
	--mail-from carol@cli-pass.example --rcpt dave@gmail.com \
	--egress-ip $EGRESS - <"$M/cli-pass.eml" >"$T/pass.json" 2>&1
is "$(jget "$T/pass.json" verdict)/$(jget "$T/pass.json" reason)/$(jget "$T/pass.json" dmarc.spf_aligned)" \
	"deliver/null/true" "--json, message on standard input: deliver, no reason, SPF aligned"

# quotes, backslashes and bytes that are not UTF-8 stay valid JSON
printf 'From: "q\\"x" <we\377ird"\\\\x\303\251@cli-pass.example>\nSubject: x\n\nhi\n' >"$T/hostile.eml"
"$PFL_CLI" check-message -c "$T/cli.conf" --nameserver "$NS" --json \
	--mail-from $'o\377"\\k\303\251@cli-pass.example' --rcpt a@gmail.com \
	"$T/hostile.eml" >"$T/hostile.json" 2>&1
is "$(jget "$T/hostile.json" mail_from)" $'o\xef\xbf\xbd"\\k\303\251@cli-pass.example' \
	"--json escapes quotes and backslashes, keeps UTF-8, replaces other bytes"

# DKIM: c=simple/simple signature, SPF failing: DKIM alone aligns
cm --mail-from carol@cli-pass.example --rcpt dave@gmail.com --rcpt erin@gmail.com \
	--egress-ip $OTHER "$M/cli-signed.eml"
like "$out/$rc" ' spf=fail\(-all\) dkim=pass\(d=cli-pass\.example\) dmarc=pass\(p=reject\) providers=google:deliver .* rcpts=2/0$' \
	"simple/simple signature with folded fields verifies: deliver"
sed 's/$/\r/' "$M/cli-signed.eml" >"$T/crlf.eml"
cm --mail-from carol@cli-pass.example --rcpt dave@gmail.com --egress-ip $OTHER "$T/crlf.eml"
like "$out" ' dkim=pass\(d=cli-pass\.example\) ' "the same message with CRLF line ends verifies"
sed 's/^  folded, and with  two spaces/ folded, and with two spaces/' "$M/cli-signed.eml" >"$T/refolded.eml"
cm --mail-from carol@cli-pass.example --rcpt dave@gmail.com --egress-ip $OTHER "$T/refolded.eml"
like "$out/$rc" 'verdict=reject .* dkim=fail-header\(d=cli-pass\.example\) .*/2$' \
	"white space changed in a signed field: fail-header under simple canonicalization"

# the signer's prediction for an unsigned message
cat >"$T/key.table" <<EOF
good cli-pass.example:good:$D/good.private
EOF
echo "*@cli-pass.example good" >"$T/signing.table"
cat >"$T/signer.conf" <<EOF
DnsTimeout $DNS_TIMEOUT
SignerKeyTable $T/key.table
SignerSigningTable refile:$T/signing.table
EOF
rc=0
out=$("$PFL_CLI" check-message -c "$T/signer.conf" --nameserver "$NS" \
	--mail-from carol@cli-pass.example --rcpt dave@gmail.com \
	--egress-ip $OTHER "$M/cli-pass.eml" 2>&1) || rc=$?
like "$out/$rc" ' dkim=predicted-sign\(d=cli-pass\.example,s=good\) dmarc=pass\(p=reject\) providers=google:deliver .*/0$' \
	"unsigned message: the signer's tables predict a good signature"

# the options replace the config's keys (not add to them)
cat >"$T/over.conf" <<EOF
EgressAddresses $OTHER
Nameservers 127.0.0.1@1
DnsTimeout $DNS_TIMEOUT
EOF
rc=0
out=$("$PFL_CLI" check-message -c "$T/over.conf" --nameserver "$NS" \
	--mail-from carol@cli-pass.example --rcpt dave@gmail.com \
	--egress-ip $EGRESS "$M/cli-pass.eml" 2>&1) || rc=$?
like "$out/$rc" "verdict=deliver spf=pass\(ip4:$EGRESS\) .*/0\$" \
	"--egress-ip and --nameserver replace EgressAddresses and Nameservers"

# usage and config errors
cm --mail-from a@cli-pass.example "$M/cli-pass.eml"
is "$rc" 64 "no --rcpt: usage error 64"
cm --mail-from a@cli-pass.example --rcpt b@gmail.com --egress-ip 203.0.113 "$M/cli-pass.eml"
is "$rc" 64 "a bad --egress-ip: usage error 64"
rc=0
out=$("$PFL_CLI" check-message -c "$T/missing.conf" --mail-from a@cli-pass.example \
	--rcpt b@gmail.com "$M/cli-pass.eml" 2>&1) || rc=$?
like "$rc:$out" "^78:$T/missing.conf: cannot open" "a config that cannot be read: 78"

# --- check-domain ----------------------------------------------------------------
cdom --egress-ip $EGRESS --selector good cli-pass.example
is "$rc" 0 "a good domain: exit 0"
is "$(line '^FAIL' | wc -l)/$(printf '%s\n' "$out" | grep -Evc '^(ok  |warn|FAIL) ')" "0/0" \
	"a good domain: no FAIL; every line starts ok, warn or FAIL"
like "$(line 'SPF: 203')" "^ok   SPF: $EGRESS passes \(ip4:$EGRESS\)$" "egress address passes SPF"
like "$(line 'lookups')" '^ok   SPF: 1 DNS lookups \(limit 10\), 0 void lookups \(limit 2\)$' \
	"DNS lookups counted against the limit"
like "$(line DKIM)" '^ok   DKIM: key good\._domainkey\.cli-pass\.example: 2048 bits, usable$' \
	"DKIM key: 2048 bits"
like "$(line 'DMARC: policy')" '^ok   DMARC: policy reject \(p= of the record at _dmarc\.cli-pass\.example\)$' \
	"DMARC p=reject"
like "$(line 'MX:')" '^ok   MX: 10 mx\.cli-pass\.example ' "MX listed"

cdom -c "$T/signer.conf" --egress-ip $EGRESS cli-pass.example
like "$(line DKIM)/$rc" '^ok   DKIM: key good\._domainkey\.cli-pass\.example: 2048 bits, matches the signing key/0$' \
	"no --selector: the signer's key, checked against the private key"

cdom --egress-ip $EGRESS --selector weak cli-fail.example
is "$rc" 1 "a broken domain: exit 1"
is "$(line 'SPF: 203')" "FAIL SPF: $EGRESS gets fail (matched -all at cli-fail.example); fix: add ip4:$EGRESS to the SPF record of cli-fail.example" \
	"egress address not in SPF: FAIL with the fix"
is "$(line DKIM)" "FAIL DKIM: key weak._domainkey.cli-fail.example: 768 bits: receivers refuse keys under 1024 bits; fix: publish a 2048-bit key and sign with it" \
	"768-bit key: FAIL with the fix"
like "$(line 'DMARC: policy')" '^warn DMARC: policy none .*; fix: move to p=quarantine' "p=none: warn"
like "$(line 'rua')" '^warn DMARC: no rua=.*; fix: add rua=' "no reports asked: warn"
like "$(line 'MX:')" '^FAIL MX: no MX and no address record.*; fix: publish an MX record$' \
	"no MX, no address: FAIL"

cdom --egress-ip $EGRESS many.cli-fail.example
like "$(line lookups)" '^FAIL SPF: 11 DNS lookups \(limit 10\).*receivers answer permerror; fix: flatten includes' \
	"11 includes: over the DNS lookup limit"
cdom --egress-ip $EGRESS void.cli-fail.example
like "$(line lookups)" '^FAIL SPF: 3 DNS lookups \(limit 10\), 3 void lookups \(limit 2\).*; fix: remove the terms' \
	"3 void lookups: over the limit"
cdom --egress-ip $EGRESS wide.cli-fail.example
like "$(line suspicious)" '^FAIL SPF: suspicious entry: .*\(550 5\.7\.24\); fix: ' "ip4:0.0.0.0/1: suspicious"
like "$(line 'SPF: 203')" "^ok   SPF: $EGRESS passes" "... although the egress address passes"
cdom --selector good nx.cli-fail.example
is "$out/$rc" "FAIL DNS: nx.cli-fail.example does not exist (NXDOMAIN): receivers refuse its mail; fix: send from a domain that exists/1" \
	"a domain that does not exist: one FAIL"
cdom --selector good "bad domain"
is "$rc" 64 "not a domain: usage error 64"

# --- the milter reaches the same decision ------------------------------------------
start_sink
start_milter "Mode enforce" "EgressAddresses $EGRESS"
start_postfix

# last_error - the last error reply the server gave swaks
last_error() { sed -n 's/^<\*\* *//p' "$T/swaks.out" | tail -1; }
# milter_says FROM - the milter's decision line for FROM, from "preflight:" to rcpts=N
milter_says() {
	wait_log "$MILTER_LOG" "preflight: action=.* from=<$1>" 20
	sed -n "s/^.*: \(preflight: action=.* from=<$1> rcpts=[0-9]*\) path=.*/\1/p" "$MILTER_LOG" | tail -1
}

send --from carol@cli-pass.example --to dave@gmail.com,erin@gmail.com \
	--data "@$M/cli-signed.eml" --xclient-addr 192.0.2.77 --xclient-login alice
cm --mail-from carol@cli-pass.example --rcpt dave@gmail.com --rcpt erin@gmail.com \
	--egress-ip $EGRESS "$M/cli-signed.eml"
like "$out" ' dkim=pass\(d=cli-pass\.example\) ' "check-message: the signature passes"
is "$(milter_says carol@cli-pass.example)" "$out" \
	"the milter logs the same line for the signed message sent through Postfix"

send --from frank@cli-fail.example --to grace@gmail.com \
	--data "@$M/cli-fail.eml" --xclient-addr 192.0.2.77 --xclient-login alice
cm --mail-from frank@cli-fail.example --rcpt grace@gmail.com --egress-ip $EGRESS "$M/cli-fail.eml"
is "$(milter_says frank@cli-fail.example)" "$out" \
	"the milter logs the same line for the SPF-fail message"
like "$(last_error)" '^451 4\.7\.26 preflight: gmail\.com would refuse this \(550 5\.7\.26\)' \
	"... and defers it with the reason check-message gave"
