#!/bin/bash
# t_dns_cli - the resolver against a real nsd, through `preflight dns-query`:
# records of each type, TXT strings joined, NXDOMAIN vs NODATA, special-use
# names forwarded (test., 192.0.2/24 reverse) or kept local (invalid.),
# a dead server answered within the timeout, and `preflight spf` on top.
. "$(dirname "$0")/lib.sh"
plan 21

start_nsd
NS=127.0.0.1@$DNS_PORT
SILENT_PORT=$((PFL_PORT_BASE + 9))

# q ARGS... - the CLI's output with the TTL made constant
q() { "$PFL_CLI" dns-query --nameserver "$NS" "$@" 2>&1 | sed '1s/ttl=[0-9]*/ttl=N/'; }
# qs ARGS... - the same with the records sorted (RRset order may rotate)
qs() { q "$@" | { IFS= read -r first; echo "$first"; sort; }; }

is "$(qs a.dns.test A)" $'ok ttl=N\n192.0.2.1\n192.0.2.2' "A records"
is "$(q a.dns.test AAAA)" $'ok ttl=N\n2001:db8::1' "AAAA record"
is "$(qs alias.dns.test A)" $'ok ttl=N\n192.0.2.1\n192.0.2.2' \
	"A through a CNAME"
is "$(q alias.dns.test CNAME)" $'ok ttl=N\na.dns.test' "CNAME record"
is "$(q mx.dns.test MX)" $'ok ttl=N\n10 mail1.dns.test\n20 mail2.dns.test' \
	"MX sorted by preference"
is "$(q nullmx.dns.test MX)" $'ok ttl=N\n0 .' "null MX"
out=$(q txt.dns.test TXT)
is "$(printf '%s\n' "$out" | grep -c '^v=spf1 ip4:192.0.2.0/24 -all$')" 1 \
	"TXT strings joined without a separator"
is "$(printf '%s\n' "$out" | grep -c '^second record$')" 1 "two TXT records"
want=$(dig +short +time=1 +tries=1 -p "$DNS_PORT" @127.0.0.1 long.dns.test TXT |
	sed 's/" "//g; s/^"//; s/"$//')
got=$(q long.dns.test TXT | sed -n 2p)
is "$got" "$want" "a DKIM-sized TXT in two strings comes out whole"
is "${#got}" 401 "joined length"

is "$(q nx.dns.test A)" 'notfound ttl=N nxdomain' \
	"NXDOMAIN is notfound, nxdomain"
"$PFL_CLI" dns-query --nameserver "$NS" nx.dns.test A >/dev/null 2>&1
is "$?" 1 "exit 1 when not found"
is "$(q nodata.dns.test TXT)" 'notfound ttl=N' \
	"NODATA is notfound without nxdomain"
is "$(q 192.0.2.77 PTR)" $'ok ttl=N\nhost77.dns.test' \
	"PTR of a documentation address (reverse zone forwarded), lower case"
is "$(q x.invalid A)" 'notfound ttl=N nxdomain' \
	"invalid. stays local: NXDOMAIN without asking the server"

"$PFL_CLI" dns-query --nameserver "$NS" 'a..b' A >/dev/null 2>&1
is "$?" 65 "a name that cannot be asked: permfail, exit 65"

# the spf subcommand goes through the same resolver
spf() { "$PFL_CLI" spf --nameserver "$NS" --helo mail.dns.test "$@" 2>&1; }
like "$(spf --ip 192.0.2.200 --mail-from bob@txt.dns.test)" \
	'^pass .*mechanism="ip4:192.0.2.0/24"' "spf: pass through the resolver"
like "$(spf --ip 198.51.100.7 --mail-from bob@txt.dns.test)" \
	'^fail .*mechanism="-all".* lookups=0 void=0' "spf: fail, with counts"
"$PFL_CLI" spf --ip not-an-ip --mail-from bob@txt.dns.test >/dev/null 2>&1
is "$?" 64 "spf: usage error exits 64"

# a server that takes the query and never answers
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(60)' "$SILENT_PORT" &
_track $!
sleep 0.3
start=$(date +%s%N)
out=$("$PFL_CLI" dns-query --nameserver "127.0.0.1@$SILENT_PORT" --timeout 500 \
	a.dns.test A 2>&1)
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
like "$out rc=$rc" '^tempfail .*no answer within 500 ms.* rc=75$' \
	"dead server: tempfail, exit 75"
ok "dead server: answered in ${ms} ms (timeout 500 ms)" [ "$ms" -lt $((1500 * PFL_SLOW)) ]
