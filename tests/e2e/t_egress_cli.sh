#!/bin/bash
# t_egress_cli - preflight egress against a real nsd: forward-confirmed
# reverse DNS of egress addresses (IPv4 and IPv6: a PTR that resolves
# back, none, one that resolves elsewhere or nowhere, several names,
# SERVFAIL on the PTR or on the name), the HELO name (ours, elsewhere,
# nowhere, SERVFAIL), what each provider would answer, and the exit
# status. Zones: 2.0.192.in-addr.arpa, 30.2.0.192.in-addr.arpa
# (unloadable), the 2001:db8::/64 reverse zone and egress.test.
. "$(dirname "$0")/lib.sh"
plan 47

start_nsd
NS=127.0.0.1@$DNS_PORT
echo "DnsTimeout $DNS_TIMEOUT" >"$T/egress.conf"

# eg ARGS... - preflight egress with the test config; $out and $rc
eg() {
	rc=0
	out=$("$PFL_CLI" egress -c "$T/egress.conf" --nameserver "$NS" "$@" 2>&1) || rc=$?
}
# line ERE - the lines of $out matching ERE
line() { printf '%s\n' "$out" | grep -E -- "$1"; }

# --- IPv4 -------------------------------------------------------------------
eg --egress-ip 192.0.2.25 --helo mta.preflight.test
is "$(line '^egress ')" "egress 192.0.2.25: ok ptr=mta.preflight.test" \
	"v4 good: the PTR name resolves back"
is "$(line '^helo ')" "helo mta.preflight.test: ok" "helo resolves to the egress address"
is "$(line '^google: ')" "google: ok" "google: nothing to object to"
is "$(line '^default: ')" "default: ok" "default: nothing to object to"
is "$rc" 0 "all well: exit 0"

eg --egress-ip 192.0.2.26
is "$(line '^egress ')" \
	'egress 192.0.2.26: no-ptr why="no PTR record at 26.2.0.192.in-addr.arpa"' \
	"v4 without a PTR"
is "$(line '^helo')" "helo: unchecked (no EgressHelo)" "no HELO name: unchecked"
is "$(line '^google: ')" \
	'google: 550 5.7.25 reject reason="gmail.com would refuse this (550 5.7.25): egress 192.0.2.26 has no PTR record" fix="publish a PTR for 192.0.2.26 naming a host whose A record is 192.0.2.26"' \
	"google: 550 5.7.25 with the reason and the fix"
like "$(line '^yahoo: ')" '^yahoo: 554 5\.7\.1 reject reason="yahoo\.com would refuse this' \
	"yahoo: 554 5.7.1"
is "$(line '^microsoft: ')" "microsoft: ok" "microsoft: no IPv4 rule"
like "$(line '^default: ')" '^default: 550 5\.7\.1 reject reason="receivers that check reverse DNS would refuse this \(550 5\.7\.1\)' \
	"default: 550 5.7.1"
is "$rc" 1 "a missing PTR: exit 1"

eg --egress-ip 192.0.2.27
is "$(line '^egress ')" \
	'egress 192.0.2.27: ptr-mismatch ptr=stray.egress.test why="stray.egress.test has A 192.0.2.99, not 192.0.2.27"' \
	"v4 mismatch: the PTR name resolves elsewhere"
like "$(line '^google: ')" '550 5\.7\.25 .*egress 192\.0\.2\.27 has PTR stray\.egress\.test, which does not resolve back to it' \
	"google refuses a mismatch"
is "$(line '^default: ')" "default: ok" "default: a PTR that does not resolve back is no refusal"
is "$rc" 1 "mismatch: exit 1"

eg --egress-ip 192.0.2.28
is "$(line '^egress ')" \
	'egress 192.0.2.28: ptr-mismatch ptr=gone.egress.test why="gone.egress.test has no A record"' \
	"v4 mismatch: the PTR name does not exist"

eg --egress-ip 192.0.2.29
is "$(line '^egress ')" "egress 192.0.2.29: ok ptr=mail29.egress.test" \
	"two PTR names: the one that resolves back counts (lower-cased)"

# --- IPv6 -------------------------------------------------------------------
eg --egress-ip 2001:db8::25 --helo mta.preflight.test
is "$(line '^egress ')" "egress 2001:db8::25: ok ptr=mta.preflight.test" \
	"v6 good (nibble PTR, AAAA back)"
is "$(line '^helo ')" "helo mta.preflight.test: ok" "helo matches through its AAAA record"
is "$rc" 0 "v6 good: exit 0"

eg --egress-ip 2001:0DB8:0:0::0025
is "$(line '^egress ')" "egress 2001:db8::25: ok ptr=mta.preflight.test" \
	"a v6 address in another spelling is the same address"

eg --egress-ip 2001:db8::26
is "$(line '^egress ')" \
	'egress 2001:db8::26: no-ptr why="no PTR record at 6.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"' \
	"v6 without a PTR"
like "$(line '^google: ')" '^google: 550 5\.7\.1 reject reason="gmail\.com would refuse this \(550 5\.7\.1\): egress 2001:db8::26 has no PTR record" fix=".*AAAA record is 2001:db8::26"' \
	"google: 550 5.7.1 for IPv6 (its IPv6 PTR rule)"
like "$(line '^microsoft: ')" '^microsoft: 450 4\.7\.25 throttle reason="outlook\.com would defer this \(450 4\.7\.25\): egress 2001:db8::26 has no PTR record"' \
	"microsoft: 450 4.7.25 for an IPv6 sender without PTR"
is "$rc" 1 "v6 without PTR: exit 1"

eg --egress-ip 2001:db8::27
is "$(line '^egress ')" \
	'egress 2001:db8::27: ptr-mismatch ptr=stray.egress.test why="stray.egress.test has AAAA 2001:db8::99, not 2001:db8::27"' \
	"v6 mismatch: the name's AAAA is another address"
is "$(line '^microsoft: ')" "microsoft: ok" "microsoft asks for a PTR only"

eg --egress-ip 2001:db8::29
is "$(line '^egress ')" \
	'egress 2001:db8::29: ptr-mismatch ptr=mail29.egress.test why="mail29.egress.test has no AAAA record"' \
	"v6 is confirmed by AAAA, never by A"

# --- the HELO name ------------------------------------------------------------
eg --egress-ip 192.0.2.25 --helo stray.egress.test
is "$(line '^helo ')" \
	'helo stray.egress.test: mismatch why="stray.egress.test resolves to 192.0.2.99 (and more), none of the egress addresses"' \
	"helo resolves elsewhere"
is "$(line '^google: ')" "google: ok" "google does not judge the HELO name"
like "$(line '^default: ')" '^default: 250 deliver reason="receivers would accept this, but spam filters count against it that EgressHelo stray\.egress\.test' \
	"default: a warning, no refusal"
is "$rc" 1 "helo elsewhere: exit 1"

eg --egress-ip 192.0.2.25 --helo nohost.egress.test
is "$(line '^helo ')" \
	'helo nohost.egress.test: unresolved why="no A or AAAA record for nohost.egress.test"' \
	"helo that does not resolve"
like "$(line '^default: ')" '^default: 450 4\.7\.1 throttle ' \
	"default: 450 4.7.1 for an unresolvable HELO name"
is "$rc" 1 "helo unresolved: exit 1"

# --- DNS trouble: never a misconfiguration ------------------------------------
eg --egress-ip 192.0.2.30
like "$(line '^egress ')" '^egress 192\.0\.2\.30: tempfail why="PTR lookup of 30\.2\.0\.192\.in-addr\.arpa failed: ' \
	"SERVFAIL on the PTR: tempfail"
is "$(line '^google: ')" "google: unknown (DNS trouble)" "no prediction from DNS trouble"
is "$rc" 75 "DNS trouble only: exit 75"

eg --egress-ip 192.0.2.31
like "$(line '^egress ')" '^egress 192\.0\.2\.31: tempfail ptr=host\.auth-servfail\.example why="A lookup of host\.auth-servfail\.example failed: ' \
	"SERVFAIL on the PTR name's A record: tempfail, not a mismatch"

eg --egress-ip 192.0.2.25 --helo x.auth-servfail.example
like "$(line '^helo ')" '^helo x\.auth-servfail\.example: tempfail why="A lookup failed: ' \
	"SERVFAIL on the HELO name: tempfail"
is "$rc" 75 "helo tempfail: exit 75"

# a problem weighs more than DNS trouble
eg --egress-ip 192.0.2.30 --egress-ip 192.0.2.26
is "$rc" 1 "a missing PTR beside DNS trouble: exit 1"

# --- the configuration ------------------------------------------------------------
cat >"$T/cfg.conf" <<EOF
EgressAddresses 192.0.2.25, 2001:db8::26
EgressHelo mta.preflight.test
Nameservers $NS
EOF
rc=0
out=$("$PFL_CLI" egress -c "$T/cfg.conf" 2>&1) || rc=$?
is "$(line '^(egress|helo) ')" \
	"$(printf '%s\n' 'egress 192.0.2.25: ok ptr=mta.preflight.test' \
		'egress 2001:db8::26: no-ptr why="no PTR record at 6.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"' \
		'helo mta.preflight.test: ok')" \
	"EgressAddresses, EgressHelo and Nameservers from the config"

printf 'Mode bogus\n' >"$T/bad.conf"
"$PFL_CLI" egress -c "$T/bad.conf" --egress-ip 192.0.2.25 >/dev/null 2>&1
is "$?" 78 "a bad config: exit 78"
"$PFL_CLI" egress -c "$T/egress.conf" >/dev/null 2>&1
is "$?" 78 "nothing to check: exit 78"
"$PFL_CLI" egress --egress-ip not-an-ip >/dev/null 2>&1
is "$?" 64 "not an address: usage, exit 64"
