#!/bin/bash
# The documentation agrees with the code. Every key the configuration
# parser knows (`preflight config-check --keys`) is an item of
# preflight.conf(5) and a line of contrib/preflight.conf.sample, and
# neither names a key the parser does not know; the sample, uncommented,
# is a valid configuration. The three manual pages are clean for
# `mandoc -Tlint`. Every subcommand in preflight's usage has its synopsis
# and its section in preflight(1), and preflight(1) documents none that the
# usage does not list. `make install DESTDIR=...` lays out the programs,
# the manual pages, the sample and the contrib files, and never a live
# configuration. Starts no server.
. "$(dirname "$0")/lib.sh"
require mandoc
plan 18

MAN1=$SRC/milter/preflight.1
MAN5=$SRC/milter/preflight.conf.5
MAN8=$SRC/milter/preflight-milter.8
SAMPLE=$SRC/contrib/preflight.conf.sample

# words WORDS - a list on one line, for is() and diag
words() { printf '%s\n' "$@" | tr '\n' ' ' | sed 's/ *$//'; }

# --- configuration keys ------------------------------------------------------

"$PFL_CLI" config-check --keys >"$T/keys.raw" 2>"$T/keys.err"
rc=$?
is "$rc $(wc -l <"$T/keys.raw") $(grep -cvE '^[A-Z][A-Za-z]+$' "$T/keys.raw")" \
	"0 $(wc -l <"$T/keys.raw") 0" \
	"config-check --keys exits 0 and prints one key name per line"
sort -u "$T/keys.raw" >"$T/keys"
ok "the parser knows at least 40 keys, Socket and Mode among them" \
	sh -c "[ \$(wc -l <'$T/keys') -ge 40 ] && grep -qx Socket '$T/keys' && grep -qx Mode '$T/keys'"

# A key's item in preflight.conf(5): ".TP" then ".BI Key ..." or ".B Key",
# between ".SH KEYS" and the next section (the lower-case items there are
# values: modes, requirements, Dnsbl options).
awk '/^\.SH / { inkeys = ($2 == "KEYS") }
	inkeys && prev == ".TP" && /^\.BI? [A-Z][A-Za-z]+( |$)/ { print $2 }
	{ prev = $0 }' "$MAN5" | sort -u >"$T/man"
is "$(words $(comm -23 "$T/keys" "$T/man"))" "" \
	"every key of the parser is an item of preflight.conf(5)"
is "$(words $(comm -13 "$T/keys" "$T/man"))" "" \
	"preflight.conf(5) documents no key the parser does not know"

# A key's line in the sample: "#Key value" (commented out) or "Key value".
sed -nE 's/^#?([A-Z][A-Za-z]+)([[:space:]].*)?$/\1/p' "$SAMPLE" | sort -u >"$T/sample"
is "$(words $(comm -23 "$T/keys" "$T/sample"))" "" \
	"every key of the parser has a line in preflight.conf.sample"
is "$(words $(comm -13 "$T/keys" "$T/sample"))" "" \
	"preflight.conf.sample names no key the parser does not know"

# The sample with every key line uncommented is a valid file, but for the
# lines that name what a test machine does not have: the UserID user and
# the signer's tables; Nameservers points at this test's own port.
sed -E 's/^#([A-Z][A-Za-z]+[[:space:]])/\1/' "$SAMPLE" |
	sed -E -e '/^(UserID|SignerKeyTable|SignerSigningTable)[[:space:]]/d' \
		-e "s/^Nameservers[[:space:]].*/Nameservers 127.0.0.1@$DNS_PORT/" \
		>"$T/sample.conf"
out=$("$PFL_CLI" config-check "$T/sample.conf" 2>&1)
is "$?" 0 "the sample's values, uncommented, are a valid configuration"
[ -z "$out" ] || diag "$out"

# --- the manual pages ------------------------------------------------------------

for page in "$MAN1" "$MAN5" "$MAN8"; do
	is "$(mandoc -Tlint "$page" 2>&1)" "" "mandoc -Tlint: $(basename "$page") is clean"
done

# --- subcommands: usage against preflight(1) ------------------------------------

"$PFL_CLI" >/dev/null 2>"$T/usage"
# "preflight NAME" or "preflight NAME WORD" (budget show, dnsbl check)
sed -nE 's/^(usage:)?[[:space:]]*preflight ([a-z][a-z-]*)( ([a-z][a-z-]*))?( .*)?$/\2 \4/p' \
	"$T/usage" | sed 's/ *$//' | sort -u >"$T/subs"
ok "the usage lists at least 15 subcommands" \
	sh -c "[ \$(wc -l <'$T/subs') -ge 15 ]"
nosyn=() nosec=()
while read -r sub; do
	esc=${sub//-/\\-}
	grep -qFx ".B preflight $esc" "$MAN1" || nosyn+=("$sub")
	grep -qE "^\.SS ${esc//\\/\\\\}( |$)" "$MAN1" || nosec+=("$sub")
done <"$T/subs"
is "$(words "${nosyn[@]}")" "" "every subcommand of the usage has its synopsis in preflight(1)"
is "$(words "${nosec[@]}")" "" "every subcommand of the usage has its section in preflight(1)"
sed -nE '/^\.SH SUBCOMMANDS/,/^\.SH /s/^\.SS ([a-z\\-]+( [a-z]+)?)( .*)?$/\1/p' "$MAN1" |
	sed 's/\\-/-/g' | sort -u >"$T/sections"
is "$(words $(comm -13 "$T/subs" "$T/sections"))" "" \
	"preflight(1) documents no subcommand the usage does not list"

# --- make install ------------------------------------------------------------------

# Needs the build directory's Makefile (tests run from it under make check).
if [ -f "$BLD/Makefile" ]; then
	D=$T/destdir
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -s -C "$BLD" install DESTDIR="$D" >"$T/install.out" 2>&1
	rc=$?
	is "$rc" 0 "make install DESTDIR=... succeeds"
	[ "$rc" = 0 ] || sed -n '1,30p' "$T/install.out" | sed 's/^/#   /'
	(cd "$D" && find . -type f | sed 's|^\./|/|' | sort) >"$T/installed"
	missing=()
	for f in sbin/preflight-milter bin/preflight \
		man/man1/preflight.1 man/man5/preflight.conf.5 \
		man/man8/preflight-milter.8 \
		doc/preflight/README doc/preflight/contrib/preflight.conf.sample \
		doc/preflight/contrib/postfix/main.cf.snippet \
		doc/preflight/contrib/postfix/master.cf.snippet \
		doc/preflight/contrib/postfix/milter_header_checks \
		doc/preflight/contrib/postfix/smtp_header_checks \
		doc/preflight/contrib/sendmail/preflight.mc \
		doc/preflight/contrib/systemd/preflight-milter.service; do
		grep -q "/$f\$" "$T/installed" || missing+=("$f")
	done
	is "$(words "${missing[@]}")" "" \
		"installs the programs, the manual pages, README, the sample and the contrib files"
	unit=$(grep '/contrib/systemd/preflight-milter.service$' "$T/installed" | head -1)
	sbin=$(grep '/sbin/preflight-milter$' "$T/installed" | head -1)
	like "$(grep '^ExecStart=' "$D$unit" 2>/dev/null)" \
		"^ExecStart=$sbin -f -c /etc/preflight/preflight.conf\$" \
		"the installed unit starts the installed daemon"
	is "$(grep -E '(^|/)preflight\.conf$' "$T/installed")" "" \
		"no live preflight.conf is installed, only the sample"
elif [ "${CI:-}" = true ]; then
	# in CI the tests always run from a build directory: never skip
	for i in 1 2 3 4; do
		ok "make install from $BLD (no Makefile there)" false
	done
else
	for i in 1 2 3 4; do
		echo "ok $((_TAP_N + 1)) # SKIP no $BLD/Makefile to install from"
		_TAP_N=$((_TAP_N + 1))
	done
fi
