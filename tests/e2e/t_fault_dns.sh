#!/bin/bash
# DNS faults through the real Postfix: the DNS server stopped while the
# milter runs (nothing listens on its port any more), a blackhole that
# reads every query and never answers, and a milter started against a
# port where nothing ever listened. Every message still gets a decision
# (Postfix never logs a milter timeout), the lookups count as temperror
# and the message takes the OnDnsError path (tag by default: 250; defer:
# 451), and the milter's open descriptors do not grow over 30 messages.
. "$(dirname "$0")/lib.sh"
plan 20

BH_PORT=$((PFL_PORT_BASE + 9)) # the blackhole (UDP and TCP)
N=0

# one SENDER-DOMAIN SUBJECT - an authenticated message to gmail.com from a
# domain never asked before (no cache can answer for it)
one() {
	N=$((N + 1))
	send_auth "s$N@$1" "s$N@$1" "bob$N@gmail.com" "$2 $N"
}

# fds - descriptors the milter holds open, once its sessions are over
fds() {
	sleep 1 # Postfix closes its milter connection after QUIT
	ls "/proc/$MILTER_PID/fd" | wc -l
}

# burst DOMAIN-PREFIX SUBJECT WANT-REPLY LINE-ERE - 30 messages; sets
# BAD (descriptions of the ones that went wrong), FD10 and FD30
burst() {
	local i dom line
	BAD=''
	for ((i = 1; i <= 30; i++)); do
		dom="$1$i.example"
		one "$dom" "$2"
		[[ "$(data_reply)" =~ $3 ]] || BAD="$BAD [$N reply: $(data_reply)]"
		wait_log "$MILTER_LOG" "preflight: action=.* from=<s$N@$dom>" 20 ||
			BAD="$BAD [$N: no decision line]"
		line=$(milter_line "from=<s$N@$dom>")
		[[ "$line" =~ $4 ]] || BAD="$BAD [$N line: $line]"
		[ $i = 10 ] && FD10=$(fds)
	done
	FD30=$(fds)
}

# no_growth A B - B is at most A + 2
no_growth() { [ "$2" -le $(($1 + 2)) ]; }

start_nsd
start_sink
milter_config "Mode enforce" "EgressAddresses 192.0.2.25"
sed -i 's/^DnsTimeout .*/DnsTimeout 300ms/' "$MILTER_CONF"
start_milter
start_postfix

# --- 0. DNS up: the baseline -----------------------------------------------------
one auth-pass.example "up"
wait_delivered "up $N"
like "$LINE" 'action=tag mode=enforce verdict=deliver spf=pass' \
	"DNS up: the message passes (the baseline)"

# --- 1. the DNS server stopped mid-run ---------------------------------------------
NSD_PID=$(cat "$T/nsd/nsd.pid")
kill "$NSD_PID"
# dns_down - nothing answers on the test DNS server's port
dns_down() { ! dig +time=1 +tries=1 -p "$DNS_PORT" @127.0.0.1 SOA preflight.test >/dev/null 2>&1; }
for ((i = 0; i < 100; i++)); do
	dns_down && break
	sleep 0.1
done
ok "nsd is stopped: nothing answers on its port" dns_down
ok "the milter still runs" kill -0 "$MILTER_PID"

TEMP='action=tag mode=enforce verdict=throttle spf=temperror dkim=none dmarc=temperror providers=google:throttle:4\.7\.26 finding=auth reason="gmail\.com would defer this \(451 4\.7\.26\): DMARC of [a-z0-9.]+ could not be checked \(DNS\)'
burst stopped "dns stopped" '^250 ' "$TEMP"
is "$BAD" "" "DNS stopped: 30 messages, each 250 with a temperror decision line (OnDnsError tag)"
ok "DNS stopped: descriptors do not grow from message 10 ($FD10) to 30 ($FD30)" \
	no_growth "$FD10" "$FD30"
wait_sink 31
is "$(sink_count)" 31 "DNS stopped: all 30 were delivered (tagged)"
like "$(sink_header "$(sink_find "^Subject: dns stopped $N\$")" X-Preflight)" \
	'verdict=throttle spf=temperror .*action=tag' "and X-Preflight says temperror"

# --- 2. a blackhole: reads every query, never answers ------------------------------
start_blackhole "$BH_PORT"

DNS_PORT=$BH_PORT milter_config "Mode enforce" "EgressAddresses 192.0.2.25" \
	"OnDnsError defer"
sed -i 's/^DnsTimeout .*/DnsTimeout 300ms/' "$MILTER_CONF"
like "$(grep '^Nameservers' "$MILTER_CONF")" "@$BH_PORT\$" "the milter now asks the blackhole"
restart_milter
base=$(sink_count)
DEFER='action=defer mode=enforce verdict=throttle spf=temperror dkim=none dmarc=temperror providers=google:throttle:4\.7\.26 finding=auth'
burst blackhole "dns blackhole" '^451 4\.7\.26 preflight: gmail\.com would defer this' "$DEFER"
is "$BAD" "" "blackhole, OnDnsError defer: 30 messages, each 451 4.7.26 with a temperror decision line"
ok "blackhole: descriptors do not grow from message 10 ($FD10) to 30 ($FD30)" \
	no_growth "$FD10" "$FD30"
is "$(($(sink_count) - base))" 0 "blackhole: nothing deferred was delivered"
ok "the blackhole got the queries (it is not refusing them)" \
	test "$(tail -1 "$T/blackhole.log" 2>/dev/null || echo 0)" -ge 30

# OnDnsError tag with the blackhole: delivered
milter_config "Mode enforce" "EgressAddresses 192.0.2.25"
sed -i -e 's/^DnsTimeout .*/DnsTimeout 300ms/' \
	-e "s/^Nameservers .*/Nameservers 127.0.0.1@$BH_PORT/" "$MILTER_CONF"
restart_milter
one holed.example "blackhole tag"
wait_delivered "blackhole tag $N"
like "$LINE" "$TEMP" "blackhole, OnDnsError tag: delivered, the decision line says temperror"

# --- 3. nothing ever listened there --------------------------------------------------
kill "$BH_PID"
wait "$BH_PID" 2>/dev/null
milter_config "Mode enforce" "EgressAddresses 192.0.2.25"
sed -i -e 's/^DnsTimeout .*/DnsTimeout 300ms/' \
	-e "s/^Nameservers .*/Nameservers 127.0.0.1@$BH_PORT/" "$MILTER_CONF"
restart_milter
base=$(sink_count)
burst nothing "dns nothing" '^250 ' "$TEMP"
is "$BAD" "" "nothing listening: 30 messages, each 250 with a temperror decision line"
ok "nothing listening: descriptors do not grow from message 10 ($FD10) to 30 ($FD30)" \
	no_growth "$FD10" "$FD30"
wait_sink $((base + 30))
is "$(($(sink_count) - base))" 30 "nothing listening: all 30 delivered"

# --- 4. DNS back: the same milter passes mail again -----------------------------------
start_nsd
milter_config "Mode enforce" "EgressAddresses 192.0.2.25"
sed -i 's/^DnsTimeout .*/DnsTimeout 300ms/' "$MILTER_CONF"
restart_milter
one auth-pass.example "back"
wait_delivered "back $N"
like "$LINE" 'verdict=deliver spf=pass' "DNS back: the message passes again"

# --- throughout -----------------------------------------------------------------------
unlike "$(cat "$PF_LOG")" 'milter .*([Tt]ime(d)? ?out|timeout)' \
	"Postfix never logged a milter timeout"
unlike "$(cat "$PF_LOG")" 'milter.*(not responding|unavailable|default_action)' \
	"Postfix never found the milter unavailable"
ok "the milter still runs" kill -0 "$MILTER_PID"
