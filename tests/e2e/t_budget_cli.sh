#!/bin/bash
# `preflight budget show` and `preflight budget reset` against the store
# the running milter uses: LMDB in a directory owned by the milter's user
# (the command runs as root, the milter as nobody), then Redis. Messages
# go through the real Postfix; show gives the usage, limit, origin and
# next slot of google/sender-domain auth-pass.example; reset gives the
# sender its budget back. The milter keeps working on an LMDB file the
# command has opened, also when the command created its lock file.
. "$(dirname "$0")/lib.sh"
plan 31

STATE=$T/state
LMDB=$STATE/state.lmdb
KEY=pfl:b:google:sender-domain:auth-pass.example:1h:msg
KEY_RE='pfl:b:google:sender-domain:auth-pass\.example:1h:msg'
MY_REDIS_PORT=$((PFL_PORT_BASE + 7))
N=0

# conf STORE - the milter's config with StateStore STORE and the budget;
# written here (not through start_milter's arguments) so that exactly one
# StateStore line is in it
conf() {
	milter_config "Mode enforce" "EgressAddresses 192.0.2.25" \
		"Budget google sender-domain 3/1h"
	sed -i "s|^StateStore .*|StateStore $1|" "$MILTER_CONF"
	BUDGET_LINE=$(grep -n '^Budget ' "$MILTER_CONF" | cut -d: -f1)
}

# gmail - one authenticated message from auth-pass.example to gmail.com;
# true when Postfix queued it (the reply is in $T/swaks.out)
gmail() {
	N=$((N + 1))
	send --from "s$N@auth-pass.example" --to "bob$N@gmail.com" \
		--xclient-login alice --header "Subject: cli $N"
	grep -q '250 2\.0\.0 Ok: queued as' "$T/swaks.out"
}

# gmail_sent - gmail, then wait until Postfix delivered it
gmail_sent() {
	gmail && wait_sent "$(qid_of_last_send)"
}

# cli ARGS... - the budget command; its output (both streams) in OUT,
# its exit status in RC
cli() {
	RC=0
	OUT=$("$PFL_CLI" budget "$@" 2>&1) || RC=$?
}

# esc TEXT - TEXT as an ERE matching itself
esc() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'; }

# my_redis_start - a redis-server of this test on 127.0.0.1:$MY_REDIS_PORT
# (no persistence), stopped by PID at exit
my_redis_start() {
	require redis-server redis-cli
	local i
	mkdir -p "$T/redis"
	redis-server --bind 127.0.0.1 --port "$MY_REDIS_PORT" --save '' \
		--appendonly no --daemonize no --dir "$T/redis" \
		>"$T/redis/out" 2>&1 &
	_track $!
	for ((i = 0; i < 100; i++)); do
		[ "$(my_redis PING 2>/dev/null)" = PONG ] && return 0
		sleep 0.05
	done
	bail "redis-server did not start on 127.0.0.1:$MY_REDIS_PORT"
}

# my_redis ARGS... - redis-cli against that server
my_redis() { timeout 5 redis-cli -h 127.0.0.1 -p "$MY_REDIS_PORT" "$@"; }

start_nsd
start_sink
mkdir -p "$STATE"
chown nobody "$STATE"
chmod 700 "$STATE"
conf "lmdb:$LMDB"
ORIGIN_RE="origin=\"$(esc "$MILTER_CONF"):$BUDGET_LINE\""
start_milter
start_postfix

# --- LMDB ---------------------------------------------------------------------

cli show -c "$MILTER_CONF"
like "$OUT" "google/sender-domain 3/1h: nothing counted.* $ORIGIN_RE" \
	"before any mail: the budget with its origin, nothing counted"
ok "show has not created the store file" test ! -e "$LMDB"

gmail_sent
gmail_sent
is "$(sink_count)" 2 "two messages to gmail.com are delivered"
cli show -c "$MILTER_CONF"
is "$RC" 0 "show exits 0"
like "$OUT" "^store lmdb:$(esc "$LMDB")" "show names the store"
like "$OUT" "google/sender-domain 3/1h: auth-pass\.example 2/3 $ORIGIN_RE key=$KEY_RE" \
	"show: 2/3 for google/sender-domain auth-pass.example, with its origin and key"
unlike "$OUT" 'full' "a window with room has no next slot"
is "$(stat -c %U "$LMDB" "$LMDB-lock" | sort -u)" nobody \
	"the store and its lock file still belong to the milter's user"

cli show -c "$MILTER_CONF" --target google --scope sender-domain
like "$OUT" "auth-pass\.example 2/3" "--target google --scope sender-domain keeps it"
cli show -c "$MILTER_CONF" --target yahoo
unlike "$OUT" 'google/' "--target yahoo leaves it out"
cli show -c "$MILTER_CONF" --scope sender
unlike "$OUT" 'google/' "--scope sender leaves it out"

gmail_sent
cli show -c "$MILTER_CONF" --key "$KEY"
like "$OUT" "auth-pass\.example 3/3 full next=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z $ORIGIN_RE" \
	"--key on a full window: 3/3 and the next free slot"
gmail
like "$(cat "$T/swaks.out")" '<\*\* 452 4\.7\.1 preflight: budget google/sender-domain auth-pass\.example 3/1h exhausted' \
	"the 4th message is over the budget"
cli show -c "$MILTER_CONF" --key "$KEY"
like "$OUT" "auth-pass\.example 3/3 full" "show's probe for the next slot took nothing"

cli reset -c "$MILTER_CONF" "$KEY"
is "$RC:$OUT" "0:deleted $KEY" "reset deletes the key"
cli show -c "$MILTER_CONF" --key "$KEY"
like "$OUT" "google/sender-domain 3/1h: auth-pass\.example 0/3 $ORIGIN_RE key=$KEY_RE" \
	"after reset: 0/3"
cli show -c "$MILTER_CONF"
like "$OUT" "google/sender-domain 3/1h: nothing counted" "and show lists no key"
cli reset -c "$MILTER_CONF" "$KEY"
is "$RC" 1 "a second reset: no such key (exit 1)"

ok "after reset the milter admits the sender again" gmail_sent
cli show -c "$MILTER_CONF" --key "$KEY"
like "$OUT" "auth-pass\.example 1/3" "and counts it in the store the command touched"

# the command creates the lock file when there is none: as the milter's
# user, so the milter can still open the store afterwards
stop_milter
rm -f "$LMDB-lock"
cli show -c "$MILTER_CONF"
like "$OUT" "auth-pass\.example 1/3" "show with no lock file (the milter stopped)"
is "$(stat -c %U "$LMDB-lock" 2>&1)" nobody "the lock file it created belongs to nobody"
start_milter
ok "the restarted milter admits mail through that store" gmail_sent
unlike "$(cat "$MILTER_LOG")" 'store .* failed' "the milter logged no store failure"
cli show -c "$MILTER_CONF" --key "$KEY"
like "$OUT" "auth-pass\.example 2/3" "the count survived the restart and went on"

cli reset -c "$MILTER_CONF" "not-a-key"
is "$RC" 64 "reset refuses a key that is not a budget key (64)"
cli show -c "$MILTER_CONF" --key "pfl:b:yahoo:sender:x:1h:msg"
is "$RC" 1 "--key that no configured budget counts: exit 1"

# --- memory: per process, nothing to see from here ------------------------------

sed "s|^StateStore .*|StateStore memory|" "$MILTER_CONF" >"$T/memory.conf"
cli show -c "$T/memory.conf"
like "$RC $(printf '%s' "$OUT" | tr '\n' ' ')" '^69 .*StateStore memory: the counts live inside each preflight-milter process' \
	"show on a memory store says the counts live in each milter process (69)"

# --- Redis ----------------------------------------------------------------------

my_redis_start
stop_milter
conf "redis://127.0.0.1:$MY_REDIS_PORT/0"
start_milter
gmail_sent
gmail_sent
cli show -c "$MILTER_CONF"
like "$OUT" "google/sender-domain 3/1h: auth-pass\.example 2/3 $ORIGIN_RE key=$KEY_RE" \
	"redis: show gives 2/3 with its origin"
cli reset -c "$MILTER_CONF" "$KEY"
is "$RC:$(my_redis EXISTS "pfl:{$KEY}")" "0:0" "redis: reset deletes the key in the server"
gmail_sent
cli show -c "$MILTER_CONF" --key "$KEY"
like "$OUT" "auth-pass\.example 1/3" "redis: the next message is admitted and counted from zero"
