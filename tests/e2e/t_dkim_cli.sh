#!/bin/bash
# preflight dkim-verify and dkim-predict against a real DNS server (nsd
# serving tests/data/zones/dkim.test.zone): a good 2048-bit key, a key that
# is not the signing key, a t=y key, a revoked key, a 768-bit key, no key,
# and a domain the server refuses (DNS failure). The signed message and the
# keys are in tests/data/dkim (see its README).
. "$(dirname "$0")/lib.sh"
plan 28

D=$SRC/tests/data/dkim
NS=127.0.0.1@$DNS_PORT
start_nsd

# verify FILE - run dkim-verify; output in $out, exit status in $rc
verify() {
	rc=0
	out=$("$PFL_CLI" dkim-verify --nameserver "$NS" "$1" 2>&1) || rc=$?
}
# sel SELECTOR - the result line of the signature with s=SELECTOR
sel() { printf '%s\n' "$out" | grep -E " s=$1 " | head -1; }

# --- dkim-verify -------------------------------------------------------------
verify "$D/signed.eml"
is "$rc" 0 "a message with a passing signature exits 0"
is "$(printf '%s\n' "$out" | wc -l)" 7 "one line per signature"
like "$(sel good)" '^pass d=dkim\.test s=good a=rsa-sha256 bits=2048 h=from:to:subject:date:list-unsubscribe$' \
	"good key: pass, 2048 bits, OpenDKIM's default h="
unlike "$(sel good)" 'list-unsubscribe-post' "OpenDKIM's default list leaves out List-Unsubscribe-Post"
like "$(sel mismatch)" '^fail-header d=dkim\.test s=mismatch .*signature mismatch' \
	"published key is not the signing key: signature mismatch"
like "$(sel testmode)" '^permerror d=dkim\.test s=testmode .*why="key in test mode \(t=y\)"' \
	"t=y key does not count"
like "$(sel revoked)" '^permerror d=dkim\.test s=revoked .*why="key revoked \(empty p=\)"' \
	"revoked key"
like "$(sel missing)" '^nokey d=dkim\.test s=missing ' "no key record: nokey"
like "$(sel weak)" '^permerror d=dkim\.test s=weak a=rsa-sha256 bits=768 .*key too small' \
	"768-bit key refused"
like "$(printf '%s\n' "$out" | grep 'd=unserved.example')" '^tempfail .*key retrieval failed' \
	"DNS failure is a tempfail, not 'no key'"

sed 's/^Hello Bob,/Hello Eve,/' "$D/signed.eml" >"$T/body.eml"
verify "$T/body.eml"
like "$(sel good)" '^fail-body .*body hash mismatch' "changed body: body hash mismatch"
is "$rc" 75 "no passing signature, one key not fetched: exit 75"

sed 's/^Subject: preflight DKIM test/Subject: changed/' "$D/signed.eml" >"$T/hdr.eml"
verify "$T/hdr.eml"
like "$(sel good)" '^fail-header ' "changed signed header: signature mismatch"

sed 's/$/\r/' "$D/signed.eml" >"$T/crlf.eml"
verify "$T/crlf.eml"
like "$(sel good)" '^pass ' "CRLF line ends verify the same"

verify "$D/message.eml"
is "$out/$rc" "none/1" "unsigned message: none, exit 1"

# --- dkim-predict ----------------------------------------------------------
cat >"$T/key.table" <<EOF
# keyname   domain:selector:private key
good        dkim.test:good:$D/good.private
mismatch    dkim.test:mismatch:$D/good.private
testmode    dkim.test:testmode:$D/good.private
revoked     dkim.test:revoked:$D/good.private
weak        dkim.test:weak:$D/weak.private
missing     dkim.test:missing:$D/good.private
twice       dkim.test:twice:$D/good.private
refused     unserved.example:good:$D/good.private
EOF
cat >"$T/signing.table" <<EOF
*@dkim.test            good
*@mismatch.dkim.test   mismatch
*@testmode.dkim.test   testmode
*@revoked.dkim.test    revoked
*@weak.dkim.test       weak
*@missing.dkim.test    missing
*@twice.dkim.test      twice
*@unserved.example     refused
EOF
cat >"$T/p.conf" <<EOF
SignerKeyTable $T/key.table
SignerSigningTable refile:$T/signing.table
EOF

# predict ADDR [CONFIG] - run dkim-predict; output in $out, status in $rc
predict() {
	rc=0
	out=$("$PFL_CLI" dkim-predict -c "${2:-$T/p.conf}" --from "$1" \
		--nameserver "$NS" 2>&1) || rc=$?
}

predict "Alice@DKIM.test"
is "$out" "sign d=dkim.test s=good bits=2048 key=ok list-unsubscribe=yes list-unsubscribe-post=no" \
	"good key: would sign, key checks out"
is "$rc" 0 "would sign exits 0"
predict "x@mismatch.dkim.test"
is "$out" 'keyproblem d=dkim.test s=mismatch bits=2048 key=mismatch list-unsubscribe=yes list-unsubscribe-post=no fix="DKIM key mismatch._domainkey.dkim.test does not match the signing key"' \
	"published key differs from the private key"
is "$rc" 1 "key problem exits 1"
predict "x@testmode.dkim.test"
like "$out" '^keyproblem .*key=testmode .*fix="DKIM key testmode._domainkey.dkim.test is in test mode; remove t=y"' \
	"t=y key is a key problem"
predict "x@revoked.dkim.test"
like "$out" '^keyproblem .*key=revoked ' "revoked key is a key problem"
predict "x@weak.dkim.test"
like "$out" '^keyproblem d=dkim.test s=weak bits=768 key=weak .*publish a 2048-bit key' \
	"768-bit key is a key problem"
predict "x@missing.dkim.test"
like "$out" '^keyproblem .*key=notfound .*fix="publish the DKIM key missing._domainkey.dkim.test' \
	"unpublished key"
predict "x@twice.dkim.test"
like "$out" '^keyproblem .*key=badrecord .*2 TXT records' "two key records at one name"
predict "x@unserved.example"
is "$rc/$(printf '%s' "$out" | cut -d' ' -f1,5)" "75/keyunknown key=tempfail" \
	"DNS failure: cannot tell, exit 75"
predict "someone@example.org"
like "$out/$rc" '^nosign .*fix="add a SigningTable entry for someone@example.org"/1$' \
	"no SigningTable match: would not sign"

{ cat "$T/p.conf"; echo "SignerSignHeaders *, +List-Unsubscribe-Post"; } >"$T/post.conf"
predict "alice@dkim.test" "$T/post.conf"
like "$out" 'list-unsubscribe=yes list-unsubscribe-post=yes$' \
	"SignerSignHeaders adds List-Unsubscribe-Post"

printf '*@dkim.test good\n*@bad.example nosuchkey\n' >"$T/bad.table"
printf 'SignerKeyTable %s\nSignerSigningTable refile:%s\n' "$T/key.table" "$T/bad.table" >"$T/bad.conf"
predict "alice@dkim.test" "$T/bad.conf"
is "$rc/$out" "78/$T/bad.table:2: key \"nosuchkey\" is not in the KeyTable $T/key.table" \
	"a bad SigningTable line is reported with file:line"
