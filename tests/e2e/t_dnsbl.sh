#!/bin/bash
# The egress monitor against a real rbldnsd: a listed egress address
# pauses only the providers that use the list (a 4xx at RCPT naming the
# listing and the delisting page; other providers go through) and mail
# resumes after delisting; an error code (127.255.255.254) pauses nothing
# and says "public resolver"; an unhealthy list is ignored; a list that
# does not answer is a temporary state, not a listing; `preflight dnsbl
# status` shows what the daemon saved in the store; OnListed hold holds.
. "$(dirname "$0")/lib.sh"
plan 26

EGRESS=192.0.2.25
DEAD_PORT=$((PFL_PORT_BASE + 9))

rbl_write bl.ip4 <<EOF2
:127.0.0.2:Listed, see https://delist.test/
127.0.0.2
$EGRESS :127.0.0.2:
EOF2
rbl_write pub.ip4 <<EOF2
:127.255.255.254:Query via public resolver
127.0.0.2 :127.0.0.2:
$EGRESS
EOF2
rbl_write broken.ip4 <<EOF2
:127.0.0.2:Lists everything
127.0.0.0/24
$EGRESS
EOF2
start_nsd
start_sink
start_rbldnsd bl.test:ip4set:bl.ip4 pub.test:ip4set:pub.ip4 \
	broken.test:ip4set:broken.ip4
mkdir -p "$T/state"
chown nobody "$T/state"

RBL="server=127.0.0.1@$RBL_PORT"
cfg=("Mode enforce" "EgressAddresses $EGRESS"
	"StateStore lmdb:$T/state/state.lmdb"
	"Dnsbl bl.test ip providers=microsoft,yahoo delist=https://delist.test/ $RBL"
	"Dnsbl pub.test ip providers=google $RBL"
	"Dnsbl broken.test ip providers=* $RBL"
	"Dnsbl dead.test ip providers=* server=127.0.0.1@$DEAD_PORT")
start_milter "${cfg[@]}" "DnsblInterval 2s"
start_postfix

wait_log "$MILTER_LOG" "dnsbl dead.test health test" 30
log=$(cat "$MILTER_LOG")
like "$log" "egress 192\.0\.2\.25 LISTED bl\.test 127\.0\.0\.2 -> pausing microsoft,yahoo \(OnListed defer\); delisting: https://delist\.test/" \
	"the listing is logged with the providers paused and the delisting page"
like "$log" "egress 192\.0\.2\.25 CANNOT-TELL pub\.test 127\.255\.255\.254: queries are going through a public resolver.*not a listing, nothing paused" \
	"127.255.255.254 is not a listing and says why: a public resolver"
like "$log" "dnsbl broken\.test UNHEALTHY: 127\.0\.0\.1, which must never be listed, is listed" \
	"a list that lists 127.0.0.1 is unhealthy"
like "$log" "dnsbl dead\.test health test: lookup on dead\.test failed .*a temporary state, not a listing" \
	"a list that does not answer is a temporary state"
unlike "$log" "LISTED (pub|broken|dead)\.test" "no other list is read as a listing"

send --from a1@auth-pass.example --to bob@gmail.com,carol@yahoo.com,dan@outlook.com \
	--xclient-login alice --header "Subject: listed"
out=$(cat "$T/swaks.out")
like "$out" '<\*\* 451 4\.7\.1 preflight: yahoo would refuse this \(553 5\.7\.1 \[BL23\]\): egress 192\.0\.2\.25 is listed on bl\.test \(127\.0\.0\.2\); paused until delisted: https://delist\.test/' \
	"a yahoo.com recipient gets 451 4.7.1 naming the listing and the delisting page"
like "$out" '<\*\* 451 4\.7\.1 preflight: microsoft would refuse this \(550 5\.7\.1\)' \
	"an outlook.com recipient is paused as well"
qid=$(qid_of_last_send)
wait_sent "$qid"
like "$(grep "$qid:" "$PF_LOG" | grep status=sent)" 'to=<bob@gmail\.com>' \
	"the gmail.com recipient (Gmail does not use the list) is delivered"
is "$(grep "$qid:" "$PF_LOG" | grep -c 'status=sent')" 1 "and only that one"
like "$(grep "$qid: preflight:" "$MILTER_LOG")" 'deferred=2 .*rcpts=1' \
	"the decision line counts the two deferred recipients"
like "$(cat "$MILTER_LOG")" "action=defer mode=enforce rcpt=<carol@yahoo\.com> .*finding=dnsbl" \
	"the deferral is logged per recipient with finding=dnsbl"

rc=0
st=$("$PFL_CLI" dnsbl status -c "$MILTER_CONF" 2>&1) || rc=$?
is "$rc" 1 "dnsbl status exits 1 while an egress address is listed"
like "$st" "egress 192\.0\.2\.25 bl\.test: listed 127\.0\.0\.2 since=20[0-9-]+T[0-9:]+Z checked=.* delist=https://delist\.test/" \
	"dnsbl status shows the listing from the store, since when, and the delisting page"
like "$st" "list broken\.test \"broken\.test\" kind=ip providers=\*: unhealthy" \
	"dnsbl status shows the unhealthy list"
like "$st" "egress 192\.0\.2\.25 pub\.test: cannot-tell 127\.255\.255\.254" \
	"dnsbl status shows the cannot-tell answer"
like "$st" "list dead\.test \"dead\.test\" kind=ip providers=\*: tempfail" \
	"dnsbl status shows the list that does not answer as tempfail"

out=$("$PFL_CLI" dnsbl check -c "$MILTER_CONF" 192.0.2.99 2>&1)
like "$out" "192\.0\.2\.99 bl\.test: clean" "dnsbl check: an address not on the list is clean"

# delisting: the next round resumes mail to the paused providers
rbl_write bl.ip4 <<EOF2
:127.0.0.2:Listed
127.0.0.2
EOF2
rbl_wait "25.2.0.192.bl.test" ""
wait_log "$MILTER_LOG" "egress $EGRESS DELISTED bl.test" 30
like "$(cat "$MILTER_LOG")" "egress 192\.0\.2\.25 DELISTED bl\.test -> resuming microsoft,yahoo" \
	"the delisting is logged once with the providers resumed"
is "$(grep -c "DELISTED bl.test" "$MILTER_LOG")" 1 "exactly once"
send --from a2@auth-pass.example --to carol@yahoo.com --xclient-login alice \
	--header "Subject: delisted"
like "$(cat "$T/swaks.out")" '250 2\.0\.0 Ok: queued as' "after delisting a yahoo.com recipient is accepted"
is "$(grep -c "LISTED bl.test" "$MILTER_LOG")" 2 "the listing was logged once (plus its delisting)"

# listed again, seen by `dnsbl status --refresh` (on demand) before the
# daemon's next round; the daemon takes it from the store
restart_milter "${cfg[@]}" "DnsblInterval 1h" "OnListed hold"
wait_log "$MILTER_LOG" "egress $EGRESS clean on bl.test" 30
rbl_write bl.ip4 <<EOF2
:127.0.0.2:Listed
127.0.0.2
$EGRESS :127.0.0.4:
EOF2
rbl_wait "25.2.0.192.bl.test" "127.0.0.4"
st=$("$PFL_CLI" dnsbl status -c "$MILTER_CONF" --refresh 2>&1)
like "$st" "egress 192\.0\.2\.25 LISTED bl\.test 127\.0\.0\.4 -> pausing microsoft,yahoo \(OnListed hold\)" \
	"dnsbl status --refresh checks now and prints the change"
wait_log "$MILTER_LOG" "egress $EGRESS LISTED bl.test 127.0.0.4" 30
like "$(cat "$MILTER_LOG")" "egress 192\.0\.2\.25 LISTED bl\.test 127\.0\.0\.4" \
	"the daemon takes the refreshed state from the store"
send --from a3@auth-pass.example --to carol@yahoo.com --xclient-login alice \
	--header "Subject: held"
qid=$(qid_of_last_send)
like "$(cat "$T/swaks.out")" '250 2\.0\.0 Ok: queued as' "OnListed hold: the message is accepted"
wait_log "$MILTER_LOG" "$qid: preflight: action=hold" 10
like "$(grep "$qid: preflight:" "$MILTER_LOG")" 'action=hold .*finding=dnsbl reason="yahoo would refuse this \(553 5\.7\.1 \[BL23\]\): egress 192\.0\.2\.25 is listed on bl\.test' \
	"and held, with the listing named"
like "$(hold_queue_ids)" "$qid" "the message is in the hold queue"
