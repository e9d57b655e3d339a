#!/bin/bash
# The domain lists asked about each message, against a real rbldnsd: a
# listed envelope-sender domain is held (OnDomainListed hold) with the
# receiver's reply named; a link domain inside a base64 HTML part is found
# (DnsblCheckUrls) and tagged; a message with 500 links asks at most
# DnsblMaxUrlDomains of them and says so; with DnsblCheckUrls off no link
# is asked.
. "$(dirname "$0")/lib.sh"
plan 17

# listings live 1 s in caches, "not listed" a minute (the SOA's minimum)
SOA='$SOA 60 dbl.test. hostmaster.dbl.test. 1 60 60 600 60'
rbl_write dbl.dom <<EOF2
$SOA
\$TTL 1
:127.0.1.2:Domain listed
test
auth-pass.example
EOF2
start_nsd
start_sink
printf ':127.0.1.2:listed\nsomething.example\n' | rbl_write empty.dom
start_rbldnsd dbl.test:dnset:dbl.dom empty.test:dnset:empty.dom

DBL="Dnsbl dbl.test domain delist=https://delist.test/ server=127.0.0.1@$RBL_PORT"
start_milter "Mode enforce" "EgressAddresses 192.0.2.25" "$DBL" \
	"OnDomainListed hold"
start_postfix

# --- the envelope sender's domain ---------------------------------------------
send --from a1@auth-pass.example --to bob@gmail.com --xclient-login alice \
	--header "Subject: sender listed"
qid=$(qid_of_last_send)
like "$(cat "$T/swaks.out")" '250 2\.0\.0 Ok: queued as' "OnDomainListed hold: the message is accepted"
wait_log "$MILTER_LOG" "$qid: preflight: action=hold" 10
line=$(grep "$qid: preflight:" "$MILTER_LOG")
like "$line" 'finding=dnsbl reason="receivers using dbl\.test would refuse this \(554 5\.7\.1 Message rejected due to policy\): the envelope sender domain auth-pass\.example is listed \(127\.0\.1\.2\); delisting: https://delist\.test/"' \
	"the decision line names the listed domain, the reply it would earn and the delisting page"
like "$line" 'dnsbl=listed\(auth-pass\.example@dbl\.test\)' "the summary says which domain is on which list"
like "$(hold_queue_ids)" "$qid" "the message is in the hold queue"

rbl_write dbl.dom <<EOF2
$SOA
\$TTL 1
:127.0.1.2:Domain listed
test
evil-link.example
EOF2
rbl_wait auth-pass.example.dbl.test ""
sleep 1.5 # the cached listing expires
send --from a2@auth-pass.example --to bob@gmail.com --xclient-login alice \
	--header "Subject: sender clean"
qid=$(qid_of_last_send)
wait_sent "$qid"
like "$(grep "$qid: preflight:" "$MILTER_LOG")" 'verdict=deliver .*dnsbl=clean' \
	"once delisted the sender's mail is accepted and the summary says dnsbl=clean"

# --- links in the body ---------------------------------------------------------
restart_milter "Mode enforce" "EgressAddresses 192.0.2.25" "$DBL" \
	"OnDomainListed tag" "DnsblCheckUrls yes" "DnsblMaxUrlDomains 20"

html=$(printf '<html><body><p>Hi</p><a href="https://www.Evil-Link.example/offer?x=1">offer</a></body></html>' | base64 -w 76)
cat >"$T/b64.eml" <<EOF2
From: a3@auth-pass.example
To: bob@gmail.com
Subject: urls b64
Message-ID: <b64.1@auth-pass.example>
Date: Sat, 28 Nov 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

Hi, see the HTML part.
--b1
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

$html
--b1--
EOF2
send --from a3@auth-pass.example --to bob@gmail.com --xclient-login alice \
	--data "$T/b64.eml"
qid=$(qid_of_last_send)
wait_sent "$qid"
f=$(sink_find '^Subject: urls b64')
hdr=$(sink_header "$f" X-Preflight)
like "$hdr" 'dnsbl=listed\(evil-link\.example@dbl\.test\)' \
	"a link domain inside a base64 HTML part is found on the list"
like "$hdr" 'action=tag finding=dnsbl reason="receivers using dbl\.test would refuse this \(554 5\.7\.1 Message rejected due to policy\): the link domain evil-link\.example is listed' \
	"OnDomainListed tag: delivered with the finding in X-Preflight"
like "$hdr" 'urls=1/1 ' "the summary counts the domain asked and the links seen"

# 500 distinct link domains: at most DnsblMaxUrlDomains are asked
{
	printf 'From: a4@auth-pass.example\nTo: bob@gmail.com\nSubject: urls 500\n'
	printf 'Message-ID: <500.1@auth-pass.example>\nDate: Sat, 28 Nov 2026 10:00:00 +0000\n'
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n'
	printf 'Content-Transfer-Encoding: quoted-printable\n\n'
	for i in $(seq 1 500); do printf 'see https://www.many%d.example/page=\n%d\n' "$i" "$i"; done
} >"$T/500.eml"
before=$(grep -c 'many[0-9]*\.example\.dbl\.test' "$RBL_DIR/queries.log")
send --from a4@auth-pass.example --to bob@gmail.com --xclient-login alice \
	--data "$T/500.eml"
qid=$(qid_of_last_send)
wait_sent "$qid"
hdr=$(sink_header "$(sink_find '^Subject: urls 500')" X-Preflight)
like "$hdr" 'dnsbl=clean urls=20/500\(capped\)' \
	"500 links: 20 domains asked, 500 links seen, the cap said"
after=$(grep -c 'many[0-9]*\.example\.dbl\.test' "$RBL_DIR/queries.log")
is "$((after - before))" 20 "rbldnsd was asked about exactly 20 link domains"
like "$(grep 'many1\.example\.dbl\.test' "$RBL_DIR/queries.log")" 'many1\.example' \
	"the first link's domain is among them (soft line breaks decoded)"

# the same message again: the answers come from the resolver's cache
send --from a4@auth-pass.example --to bob@gmail.com --xclient-login alice \
	--data "$T/500.eml"
wait_sent "$(qid_of_last_send)"
is "$(grep -c 'many[0-9]*\.example\.dbl\.test' "$RBL_DIR/queries.log")" "$after" \
	"a second identical message asks rbldnsd nothing new (cached by TTL)"

# DnsblCheckUrls off: links are not asked
restart_milter "Mode enforce" "EgressAddresses 192.0.2.25" "$DBL" \
	"OnDomainListed tag"
before=$(grep -c 'evil-link\.example\.dbl\.test' "$RBL_DIR/queries.log")
send --from a5@auth-pass.example --to bob@gmail.com --xclient-login alice \
	--data "$T/b64.eml"
qid=$(qid_of_last_send)
wait_sent "$qid"
is "$(grep -c 'evil-link\.example\.dbl\.test' "$RBL_DIR/queries.log")" "$before" \
	"with DnsblCheckUrls off no link domain is asked"
like "$(grep "$qid: preflight:" "$MILTER_LOG")" 'verdict=deliver .*dnsbl=clean' \
	"and the message is accepted clean"
unlike "$(grep "$qid: preflight:" "$MILTER_LOG")" 'urls=' "the summary has no urls= word"

# a domain list that fails its health test ("test" is not listed) is not
# asked: the summary says unchecked, not clean
restart_milter "Mode enforce" "EgressAddresses 192.0.2.25" \
	"Dnsbl empty.test domain server=127.0.0.1@$RBL_PORT"
wait_log "$MILTER_LOG" "dnsbl empty.test UNHEALTHY" 20
like "$(cat "$MILTER_LOG")" 'dnsbl empty\.test UNHEALTHY: its test entry test is not listed -> ignored' \
	"a domain list without its test entry is unhealthy"
send --from a6@auth-pass.example --to bob@gmail.com --xclient-login alice \
	--header "Subject: unhealthy list"
qid=$(qid_of_last_send)
wait_sent "$qid"
like "$(grep "$qid: preflight:" "$MILTER_LOG")" 'dnsbl=unchecked' \
	"messages say dnsbl=unchecked while no domain list can be asked"
