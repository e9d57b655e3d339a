#!/bin/bash
# t_dmarc_cli - "preflight dmarc" against nsd serving the DMARC test zones
# (tests/data/zones/dmarc.test.zone, servfail.dmarc.test.zone, uk.zone):
# policies p, sp and np, strict and relaxed alignment, t=y, a bad record,
# the tree walk against the Public Suffix List, a multi-label public
# suffix, SERVFAIL, and the libopendmarc rf=iodef bug worked around.
. "$(dirname "$0")/lib.sh"
plan 34

start_nsd

# dmarc ARGS... - the subcommand against our nsd; sets OUT and RC
dmarc() {
	RC=0
	OUT=$("$PFL_CLI" dmarc --nameserver "127.0.0.1@$DNS_PORT" \
		--timeout 3000 "$@" 2>&1) || RC=$?
}

dmarc --from-domain dmarc.test
like "$OUT" '^fail policy=reject published=reject tag=p record=dmarc\.test ' \
	"p=reject, nothing aligned: reject"
is "$RC" 1 "fail exits 1"
like "$OUT" 'why: no aligned identifier passed; p=reject at dmarc\.test' \
	"why names the tag and the record"

dmarc --from-domain quarantine.dmarc.test
like "$OUT" '^fail policy=quarantine published=quarantine tag=p record=quarantine\.dmarc\.test ' \
	"p=quarantine at the From: domain's own record"

dmarc --from-domain monitor.dmarc.test
like "$OUT" '^fail policy=none published=none tag=p record=monitor\.dmarc\.test ' \
	"p=none: fail, nothing applied"

dmarc --from-domain shop.dmarc.test
like "$OUT" '^fail policy=quarantine published=quarantine tag=sp record=dmarc\.test org=dmarc\.test ' \
	"existing subdomain without a record: sp= of the org domain"
like "$OUT" ' from_exists=yes ' "the subdomain exists"

dmarc --from-domain nx.dmarc.test
like "$OUT" '^fail policy=none published=none tag=np record=dmarc\.test ' \
	"non-existent subdomain: np="
like "$OUT" ' from_exists=no ' "NXDOMAIN seen"
like "$OUT" ' rfc7489=fail/quarantine ' "RFC 7489 knows no np=: sp="

dmarc --from-domain shop.dmarc.test --spf-domain mail.dmarc.test --spf pass
like "$OUT" '^pass policy=none .* spf_aligned=yes .* aspf=r ' \
	"relaxed: SPF for a sibling under .test aligns"
is "$RC" 0 "pass exits 0"
like "$OUT" ' org_psl=dmarc\.test .* rfc7489=pass/none ' \
	"the PSL's implicit * rule gives dmarc.test"
like "$OUT" ' libopendmarc=differs' \
	"libopendmarc (no implicit * rule) disagreed and was overruled"

dmarc --from-domain shop.dmarc.test --spf-domain mail.dmarc.test --spf softfail
like "$OUT" '^fail policy=quarantine .* spf_aligned=no ' \
	"an aligned domain that did not pass SPF does not help"

dmarc --from-domain strict.dmarc.test --spf-domain mail.strict.dmarc.test \
	--spf pass --dkim-pass dmarc.test
like "$OUT" '^fail policy=reject .* spf_aligned=no dkim_aligned=no adkim=s aspf=s ' \
	"strict: subdomain and parent do not align"

dmarc --from-domain strict.dmarc.test --dkim-pass strict.dmarc.test
like "$OUT" '^pass .* dkim_aligned=yes ' "strict: the very domain aligns"
like "$OUT" 'why: dkim d=strict\.dmarc\.test aligned \(strict\)' "why says which"

dmarc --from-domain testing.dmarc.test
like "$OUT" '^fail policy=quarantine published=reject .* testing=yes ' \
	"t=y: one level below the published policy"
like "$OUT" ' rfc7489=fail/reject ' "RFC 7489 receivers ignore t="

dmarc --from-domain bad.dmarc.test
like "$OUT" '^permerror policy=none .* record=bad\.dmarc\.test ' \
	"p=bogus without rua: permerror"
is "$RC" 65 "permerror exits 65"

dmarc --from-domain www.dept.dmarc.test --spf-domain mail.dmarc.test --spf pass
like "$OUT" '^fail policy=quarantine .* record=dept\.dmarc\.test org=dept\.dmarc\.test org_psl=dmarc\.test walk_decided=yes ' \
	"psd=n below the registered domain: the tree walk decides"
like "$OUT" ' rfc7489=pass/none ' "a PSL receiver would have passed it"
like "$OUT" 'the walk decided' "why says the walk decided"

dmarc --from-domain servfail.dmarc.test --spf-domain servfail.dmarc.test \
	--spf pass
like "$OUT" '^temperror policy=none ' "SERVFAIL at _dmarc: temperror"
is "$RC" 75 "temperror exits 75"
like "$OUT" 'why: DNS: _dmarc\.servfail\.dmarc\.test: .*SERVFAIL' \
	"why names the failed lookup"

dmarc --from-domain shop.example.co.uk --spf-domain mail.example.co.uk --spf pass
like "$OUT" '^pass .* record=example\.co\.uk org=example\.co\.uk org_psl=example\.co\.uk walk_decided=no spf_aligned=yes .* libopendmarc=agrees' \
	"under co.uk: walk and PSL agree on example.co.uk"

dmarc --from-domain shop.example.co.uk
like "$OUT" '^fail policy=quarantine published=quarantine tag=sp record=example\.co\.uk ' \
	"under co.uk: sp= of the org domain"

dmarc --from-domain shop.iodef.co.uk --spf-domain mail.iodef.co.uk --spf pass
like "$OUT" '^pass policy=none .* spf_aligned=yes .* aspf=r .* rfc7489=pass/none libopendmarc=agrees' \
	"rf=iodef keeps relaxed SPF alignment (libopendmarc gets a clean record)"

dmarc --from-domain nodmarc.co.uk --spf-domain nodmarc.co.uk --spf fail
like "$OUT" '^none policy=none .* record=- org=nodmarc\.co\.uk ' \
	"no record up to _dmarc.uk: none"
is "$RC" 0 "none exits 0"

dmarc --spf pass
is "$RC" 64 "no --from-domain: usage"
