#!/bin/bash
# StageTimeout: the checks of one SMTP stage share one time limit for
# their lookups, so that a DNS server that never answers cannot make a
# stage outlast the MTA's milter timeout, however many lookups the
# checks make. Here every lookup goes to a blackhole and each may wait
# DnsTimeout 4s; the end of message asks SPF, DMARC, the From: domain's
# MX, the sender's domain and eight link domains on a domain list (far
# more than Postfix's milter_content_timeout of 10 s allows at 4 s
# each). With StageTimeout 5s every message still gets its decision
# (OnDnsError tag: delivered, temperror), Postfix never logs a milter
# timeout, and the limit ends with the stage: the next message's
# lookups are asked again.
. "$(dirname "$0")/lib.sh"
plan 7

BH_PORT=$((PFL_PORT_BASE + 9))
N=0

# slow SUBJECT - an authenticated message from a domain never asked
# before, to gmail.com, with eight links to domains never asked before
slow() {
	local i body=''
	N=$((N + 1))
	for ((i = 1; i <= 8; i++)); do
		body="$body https://link$i-$N.example/page"$'\n'
	done
	send_auth "s$N@fresh$N.example" "s$N@fresh$N.example" "bob$N@gmail.com" \
		"$1 $N" --body "$body"
}

start_sink
start_blackhole "$BH_PORT"
DNS_PORT=$BH_PORT milter_config "Mode enforce" "EgressAddresses 192.0.2.25" \
	"Dnsbl dbl.test domain server=127.0.0.1@$BH_PORT" \
	"DnsblCheckUrls yes" "StageTimeout 5s"
sed -i 's/^DnsTimeout .*/DnsTimeout 4s/' "$MILTER_CONF"
start_milter
start_postfix milter_command_timeout=10s milter_content_timeout=10s

slow "deadline"
wait_delivered "deadline $N"
like "$LINE" 'action=tag mode=enforce verdict=throttle spf=temperror .*dmarc=temperror' \
	"a stage full of lookups to a dead server: delivered and tagged, the decision line says temperror"
like "$LINE" 'dnsbl=tempfail' "the domain list lookups count as failed, not as clean"
like "$(grep -c 'StageTimeout' "$MILTER_LOG")" '^[1-9]' \
	"the milter log says the stage ran out of time for its lookups"

q1=$(tail -1 "$T/blackhole.log")
slow "again"
wait_delivered "again $N"
like "$LINE" 'verdict=throttle spf=temperror' "the next message gets its own decision"
ok "its lookups were asked again ($q1 queries before, $(tail -1 "$T/blackhole.log") after): the limit ended with the stage" \
	test "$(tail -1 "$T/blackhole.log")" -gt "$q1"

unlike "$(cat "$PF_LOG")" 'milter .*([Tt]ime(d)? ?out|timeout)|milter.*(not responding|unavailable|default_action)' \
	"Postfix never logged a milter timeout"
ok "the milter still runs" kill -0 "$MILTER_PID"
