#!/bin/bash
# Budget stores through the real Postfix: LMDB keeps counts across a
# milter restart; two milters sharing one redis-server enforce one budget
# together; with Redis down, OnStoreError accept delivers (the outage is
# logged once when it starts and once when it ends, and budgets apply
# again afterwards) and OnStoreError defer answers 451 4.3.0; an LMDB
# file on a full disk or in a directory the milter cannot write is
# OnStoreError accept until there is room or leave, then budgets apply
# again without a restart. Every send is bounded: a store call may take
# at most 2 s.

# the full disk is a small tmpfs: mounted in a mount namespace of the
# test's own, it goes away with the test
[ -n "${PFL_MOUNT_NS:-}" ] ||
	PFL_MOUNT_NS=1 exec unshare -m --propagation private "$BASH" "$0" "$@"
. "$(dirname "$0")/lib.sh"
plan 46

BUDGET_KEY='pfl:{pfl:b:google:sender-domain:auth-pass.example:1h:msg}'
STORE_RETRY=4 # session_budget.c asks a store known down again every 3 s
SEND_MAX_MS=8000 # a store call is bounded by 2 s; swaks, Postfix and DNS
ACCEPTED='[0-9A-Z]+: preflight: action=tag mode=enforce verdict=deliver .*providers=google:deliver'
N=0

# gmail SUBJECT - one authenticated message to gmail.com; MS is how long
# the SMTP dialogue took, in milliseconds
gmail() {
	local t0
	N=$((N + 1))
	t0=$(date +%s%N)
	send --from "s$N@auth-pass.example" --to "bob$N@gmail.com" \
		--xclient-login alice --header "Subject: $1"
	MS=$((($(date +%s%N) - t0) / 1000000))
}

# gmail_sent SUBJECT - gmail, then wait until it is delivered; true when it is
gmail_sent() {
	local qid
	gmail "$1"
	qid=$(qid_of_last_send)
	[ -n "$qid" ] && wait_sent "$qid"
}

# count ERE FILE - lines of FILE matching ERE
count() { grep -Ec -- "$1" "$2"; }

# redis_sum KEY - a window's count in Redis: the sum of its bucket fields
# ("START:WIDTH"; the hash keeps its running sum beside them)
redis_sum() {
	redis HGETALL "$1" | awk 'NR % 2 { f = $0; next }
		f ~ /^[0-9]+:[0-9]+$/ { gsub(/[^0-9]/, ""); s += $0 }
		END { print s + 0 }'
}

# redis_total - the budget's count in Redis
redis_total() { redis_sum "$BUDGET_KEY"; }

start_nsd
start_sink

# --- 1. LMDB: counts survive a restart of the milter -------------------------

mkdir -p "$T/state"
chown nobody "$T/state"
start_milter "Mode enforce" "EgressAddresses 192.0.2.25" \
	"StateStore lmdb:$T/state/budget.lmdb" \
	"Budget google sender-domain 2/1h"
start_postfix

is "$(grep -c '^StateStore' "$MILTER_CONF")" 1 \
	"a StateStore line of the caller replaces the default one"
r=0
for i in 1 2; do gmail_sent "lmdb $i" || r=1; done
is "$r $(sink_count)" "0 2" "LMDB: two messages to gmail.com within 2/1h are delivered"
is "$(stat -c %U "$T/state/budget.lmdb" 2>&1)" nobody \
	"the LMDB file was made by the milter after it became nobody"

restart_milter
gmail "lmdb 3"
like "$(cat "$T/swaks.out")" '<\*\* 452 4\.7\.1 preflight: budget google/sender-domain auth-pass\.example 2/1h exhausted' \
	"after a restart the third one gets 452 4.7.1 naming the budget: the count survived"
like "$(cat "$MILTER_LOG")" 'NOQUEUE: preflight: action=defer mode=enforce rcpt=<bob3@gmail\.com> .*finding=budget reason="budget google/sender-domain auth-pass\.example 2/1h exhausted' \
	"the restarted milter logged that refusal"

# --- 2. two milters, one redis-server, one budget ----------------------------

start_redis
REDIS_SPEC="redis://127.0.0.1:$REDIS_PORT/0"
FAILED="store $REDIS_SPEC failed: "
RECOVERED="store $REDIS_SPEC answers again"
SHARED=("Mode enforce" "EgressAddresses 192.0.2.25" "StateStore $REDIS_SPEC"
	"Budget google sender-domain 3/1h")
restart_milter "${SHARED[@]}"
start_milter2 "${SHARED[@]}"

base=$(sink_count)
r=0
for i in 1 2; do gmail_sent "shared A$i" || r=1; done
is "$r $(redis_total)" "0 2" "two messages via milter A are delivered and counted in Redis"
postfix_milters "inet:127.0.0.1:$MILTER2_PORT"
gmail_sent "shared B1" || r=1
is "$r $(($(sink_count) - base))" "0 3" "a third via milter B is delivered (3/1h)"
gmail "shared B2"
like "$(cat "$T/swaks.out")" '<\*\* 452 4\.7\.1 preflight: budget google/sender-domain auth-pass\.example 3/1h exhausted' \
	"the fourth, the second via milter B, gets 452 4.7.1: the count is shared"
is "$(count "$ACCEPTED" "$MILTER_LOG") $(count 'action=defer' "$MILTER_LOG")" "2 0" \
	"milter A let two messages through and refused none"
is "$(count "$ACCEPTED" "$MILTER2_LOG")" 1 "milter B let one through"
like "$(cat "$MILTER2_LOG")" 'NOQUEUE: preflight: action=defer mode=enforce rcpt=<bob[0-9]+@gmail\.com> .*finding=budget reason="budget google/sender-domain auth-pass\.example 3/1h exhausted' \
	"milter B logged the refusal with the budget"
is "$(redis_total)" 3 "Redis holds the shared count 3 (the refused one was given back)"
stop_milter2
postfix_milters "inet:127.0.0.1:$MILTER_PORT"

# --- 3. Redis down, OnStoreError accept ----------------------------------------

stop_redis
base=$(sink_count)
r=0 slow=0
for i in 1 2 3; do
	gmail_sent "outage $i" || r=1
	[ "$MS" -le "$SEND_MAX_MS" ] || slow=$MS
done
is "$r $(($(sink_count) - base))" "0 3" \
	"Redis down, OnStoreError accept: three messages over the exhausted budget are delivered"
is "$slow" 0 "each of them took at most ${SEND_MAX_MS} ms"
is "$(count "$FAILED" "$MILTER_LOG")" 1 \
	"the outage is logged once for three messages"
like "$(grep "$FAILED" "$MILTER_LOG")" "failed: .*redis 127\.0\.0\.1:$REDIS_PORT: connect: .*; budgets not enforced \(OnStoreError accept\) until it answers again" \
	"the outage line says why and what happens meanwhile"
unlike "$(cat "$MILTER_LOG")" "$RECOVERED" "no recovery is logged while Redis is down"

start_redis # empty: it kept nothing
sleep "$STORE_RETRY" # a store known down is asked again only this often
gmail_sent "back 1"
is "$(count "$RECOVERED" "$MILTER_LOG")" 1 \
	"the first message after Redis is back logs that it answers again"
gmail_sent "back 2"
gmail_sent "back 3"
is "$(redis_total)" 3 "the new Redis counts the three messages since"
gmail "back 4"
like "$(cat "$T/swaks.out")" '<\*\* 452 4\.7\.1 preflight: budget google/sender-domain auth-pass\.example 3/1h exhausted' \
	"and the budget applies again: the fourth gets 452 4.7.1"
is "$(count "$RECOVERED" "$MILTER_LOG") $(count "$FAILED" "$MILTER_LOG")" "1 1" \
	"one outage, one line when it began and one when it ended"

# a Redis that accepts connections but never answers: each call times out
kill -STOP "$REDIS_PID"
base=$(sink_count)
r=0
gmail_sent "hung 1" || r=1
t1=$MS
gmail_sent "hung 2" || r=1
kill -CONT "$REDIS_PID"
sleep "$STORE_RETRY"
is "$r $(($(sink_count) - base))" "0 2" \
	"Redis hung, OnStoreError accept: two messages over the budget are delivered"
is "$((t1 >= 1900 && t1 <= SEND_MAX_MS && MS < 1900))" 1 \
	"the first waited for the 2 s store timeout and no longer, the next did not wait: the store is known down (took $t1 and $MS ms)"
like "$(grep "$FAILED" "$MILTER_LOG" | tail -1)" "failed: .*redis 127\.0\.0\.1:$REDIS_PORT: timed out" \
	"the second outage is logged as a timeout"
gmail "hung 3"
like "$(cat "$T/swaks.out")" '<\*\* 452 4\.7\.1 preflight: budget google/sender-domain auth-pass\.example 3/1h exhausted' \
	"once Redis answers again its counts apply: 452 4.7.1"
is "$(count "$RECOVERED" "$MILTER_LOG") $(count "$FAILED" "$MILTER_LOG")" "2 2" \
	"two outages, two lines each"

# Redis restarted while the milter holds an idle connection to it: a
# call on that connection retries once on a new one (one SMTP session,
# two recipients, Redis restarted between them; libmilter may run the
# session's callbacks on different threads, and each thread has its own
# connection, so the retry may be at RCPT or at end of message)
restart_milter "Mode enforce" "EgressAddresses 192.0.2.25" \
	"StateStore $REDIS_SPEC" "Budget google sender-domain 50/1h unit=recipients"
coproc SMTP {
	python3 -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.example")
s.docmd("XCLIENT", "LOGIN=alice")
s.ehlo("client.example")
s.mail("idle@auth-pass.example")
print(s.rcpt("r1@gmail.com")[0], flush=True)
sys.stdin.readline()
print(s.rcpt("r2@gmail.com")[0], flush=True)
print(s.data(b"From: <idle@auth-pass.example>\r\nSubject: idle\r\n\r\nx\r\n")[0], flush=True)
s.quit()
' "$SMTP_PORT" 2>&1
}
read -r -t 30 rc1 <&"${SMTP[0]}"
stop_redis
start_redis
echo go >&"${SMTP[1]}"
read -r -t 30 rc2 <&"${SMTP[0]}"
read -r -t 30 rc3 <&"${SMTP[0]}"
is "${rc1:-} ${rc2:-} ${rc3:-}" "250 250 250" \
	"Redis restarted between two recipients of one session: both accepted"
is "$(redis_sum 'pfl:{pfl:b:google:sender-domain:auth-pass.example:1h:rcpt}') $(redis_sum 'pfl:{pfl:bulk:google:auth-pass.example:1d}') $(count "$FAILED" "$MILTER_LOG")" "1 1 0" \
	"the new Redis got the second recipient and the end-of-message count; no outage logged"

# --- 4. Redis down, OnStoreError defer ---------------------------------------

restart_milter "${SHARED[@]}" "OnStoreError defer"
stop_redis
base=$(sink_count)
gmail "defer 1"
like "$(cat "$T/swaks.out")" '<\*\* 451 4\.3\.0 ' \
	"Redis down, OnStoreError defer: the recipient gets 451 4.3.0"
is "$(qid_of_last_send)" "" "and nothing is queued"
is "$((MS <= SEND_MAX_MS))" 1 "within ${SEND_MAX_MS} ms (took ${MS} ms)"
like "$(cat "$MILTER_LOG")" "NOQUEUE: preflight: action=defer mode=enforce rcpt=<bob[0-9]+@gmail\.com> .*finding=store reason=\"the budget store does not answer" \
	"the milter logs the defer with finding=store"
gmail "defer 2"
like "$(cat "$T/swaks.out")" '<\*\* 451 4\.3\.0 ' "a second one is deferred too"
is "$(count "$FAILED.*OnStoreError defer" "$MILTER_LOG") $(count "$FAILED" "$MILTER_LOG")" "1 1" \
	"the outage is logged once, with OnStoreError defer"

start_redis
sleep "$STORE_RETRY"
gmail_sent "defer back"
is "$(count "$RECOVERED" "$MILTER_LOG") $(($(sink_count) - base))" "1 1" \
	"after Redis is back the next message is delivered and the recovery logged"

stop_redis

# lmdb_outage SPEC WHAT REASON FIX... - the LMDB store SPEC fails for
# REASON (an ERE of the error): two messages are delivered (OnStoreError
# accept), the failure is logged once with the reason and the milter runs
# on; after FIX (a command) the store answers again within STORE_RETRY,
# without a restart, and the budget 1/1h refuses the second message
lmdb_outage() {
	local spec=$1 what=$2 why=$3 i r=0 base
	shift 3
	restart_milter "Mode enforce" "EgressAddresses 192.0.2.25" \
		"StateStore $spec" "Budget google sender-domain 1/1h"
	base=$(sink_count)
	for i in 1 2; do gmail_sent "$what $i" || r=1; done
	is "$r $(($(sink_count) - base))" "0 2" \
		"LMDB $what, OnStoreError accept: both delivered"
	is "$(count "store $spec failed: .*$why" "$MILTER_LOG")" 1 \
		"$what: logged once, with the reason"
	ok "$what: the milter still runs" kill -0 "$MILTER_PID"
	"$@"
	sleep "$STORE_RETRY"
	gmail_sent "$what fixed 1"
	gmail "$what fixed 2"
	is "$(count "store $spec answers again" "$MILTER_LOG")" 1 \
		"$what, fixed: the store answers again, logged once"
	like "$(cat "$T/swaks.out")" '<\*\* 452 4\.7\.1 preflight: budget google/sender-domain auth-pass\.example 1/1h exhausted' \
		"$what, fixed: 1/1h applies again without a restart"
}

# --- 5. an LMDB directory the milter's user cannot write -----------------------
mkdir -m 700 "$T/locked"
lmdb_outage "lmdb:$T/locked/budget.lmdb" "in a directory nobody may not write" \
	"Permission denied" chown nobody "$T/locked"

# --- 6. a full disk under the LMDB file ------------------------------------------
# 1.5 MB of tmpfs with 1 MB taken: LMDB's first map (1 MB, allocated up
# front so that a full disk is an error and never a SIGBUS) does not fit
mkdir "$T/small"
mount -t tmpfs -o size=1536k,mode=0755 tmpfs "$T/small" ||
	bail "cannot mount a tmpfs for the full disk"
mkdir "$T/small/db"
chown nobody "$T/small/db"
dd if=/dev/zero of="$T/small/filler" bs=1k count=1024 status=none
lmdb_outage "lmdb:$T/small/db/budget.lmdb" "on a full disk" \
	"No space left on device" rm "$T/small/filler"

unlike "$(cat "$PF_LOG")" 'milter configuration error' "Postfix saw no milter configuration error"
