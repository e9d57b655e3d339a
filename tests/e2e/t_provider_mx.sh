#!/bin/bash
# t_provider_mx - "preflight provider" against nsd serving
# tests/data/zones/provider.test.zone: consumer domains by the built-in
# list (no DNS), Workspace and Microsoft 365 tenants and consumer hosting
# by MX rollup, only the most preferred MX counting, look-alike hosts,
# null MX, no MX, SERVFAIL, and ProviderDomains from a config.
. "$(dirname "$0")/lib.sh"
plan 19

start_nsd

# prov ARGS... - the subcommand against our nsd; sets OUT and RC
prov() {
	RC=0
	OUT=$("$PFL_CLI" provider --nameserver "127.0.0.1@$DNS_PORT" \
		--timeout 3000 "$@" 2>&1) || RC=$?
}

prov gmail.com Yahoo.co.UK hotmail.de icloud.com
is "$OUT" $'gmail.com google via=list\nyahoo.co.uk yahoo via=list
hotmail.de microsoft via=list\nicloud.com apple via=list' \
	"consumer domains come from the list"
is "$RC" 0 "exit 0"

prov workspace.provider.test
is "$OUT" "workspace.provider.test google via=mx tenant=yes mx=aspmx.l.google.com" \
	"Workspace: MX aspmx.l.google.com, a business tenant"
prov smtp.provider.test
like "$OUT" '^smtp\.provider\.test google via=mx tenant=yes mx=smtp\.google\.com$' \
	"Workspace's single-host MX smtp.google.com"
prov tenant.provider.test
is "$OUT" "tenant.provider.test microsoft via=mx tenant=yes mx=tenant-provider-test.mail.protection.outlook.com" \
	"Microsoft 365: *.mail.protection.outlook.com, a business tenant"
prov consumer.provider.test
is "$OUT" "consumer.provider.test microsoft via=mx mx=hotmail-com.olc.protection.outlook.com" \
	"Outlook.com consumer hosting: no tenant"
prov yahoo.provider.test
like "$OUT" '^yahoo\.provider\.test yahoo via=mx mx=mta5\.am0\.yahoodns\.net$' \
	"yahoodns.net: yahoo"
prov icloud.provider.test
like "$OUT" '^icloud\.provider\.test apple via=mx mx=mx01\.mail\.icloud\.com$' \
	"mail.icloud.com: apple"

prov filtered.provider.test
like "$OUT" '^filtered\.provider\.test default via=default mx=mx\.filter\.provider\.test why="MX mx\.filter\.provider\.test is no known provider"$' \
	"a filter in front of Google: the primary MX decides"
prov lookalike.provider.test
like "$OUT" '^lookalike\.provider\.test default via=default mx=mx\.notgoogle\.com ' \
	"a host that only ends like google.com is not Google"
prov nullmx.provider.test
like "$OUT" 'default via=default why="null MX: accepts no mail"$' "null MX"
prov nomx.provider.test
like "$OUT" 'default via=default why="no MX record"$' "an address but no MX"
prov nx.provider.test
like "$OUT" 'default via=default why="no such domain"$' "NXDOMAIN"
prov x.servfail.dmarc.test
like "$OUT" '^x\.servfail\.dmarc\.test default via=default why="MX lookup failed: .*SERVFAIL' \
	"SERVFAIL: default, and why says so"
is "$RC" 0 "a DNS failure is no error for the command"

cat >"$T/p.conf" <<CONF
ProviderDomains yahoo workspace.provider.test
ProviderDomains default gmail.com
CONF
prov -c "$T/p.conf" workspace.provider.test gmail.com
is "$OUT" $'workspace.provider.test yahoo via=list\ngmail.com default via=list' \
	"ProviderDomains come before the list and MX rollup"

echo "ProviderRule google sometimes spf_pass" >"$T/bad.conf"
prov -c "$T/bad.conf" gmail.com
is "$RC" 78 "a bad ProviderRule: EX_CONFIG"
like "$OUT" "^$T/bad\.conf:1: ProviderRule: unknown class \"sometimes\"" \
	"the error names file, line and key"

prov
is "$RC" 64 "no domain: usage"
