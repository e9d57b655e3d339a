#!/bin/bash
# preflight check-config reads a Postfix configuration through the real
# postconf(1) (-c on a private main.cf + master.cf; nothing is started)
# and says what would make mail fail on its way out: TLS off, a HELO name
# other than EgressHelo, preflight missing from the milter lists or
# listed before the DKIM signer, unix sockets seen through a chroot, and a
# relay on a submission port without SMTP AUTH, a password entry or the
# TLS the port needs. Exit 0 all ok, 1 a warn, 2 an error, 69 postconf
# failing, 78 a bad preflight config.
. "$(dirname "$0")/lib.sh"
require postconf postmap
plan 59

PFD=$T/pf
DKIM=unix:/run/opendkim/opendkim.sock
US=inet:127.0.0.1:$MILTER_PORT
milter_config "EgressHelo mta.preflight.test"

# pf [key=value...] - a fresh Postfix config dir $PFD: a good main.cf with
# these changes, and a master.cf with one smtpd and one cleanup (no chroot)
pf() {
	local kv
	rm -rf "$PFD"
	mkdir -p "$PFD"
	cat >"$PFD/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $T/pf/queue
myhostname = mta.preflight.test
smtp_tls_security_level = may
smtpd_milters = $DKIM, $US
non_smtpd_milters = \$smtpd_milters
milter_default_action = tempfail
EOF
	cat >"$PFD/master.cf" <<EOF
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
smtp      unix  -       -       n       -       -       smtp
EOF
	for kv in "$@"; do
		postconf -c "$PFD" -e "$kv" || bail "postconf -e $kv"
	done
}

# cc [ARGS...] - run check-config on $PFD; output in $out, status in $rc
cc() {
	out=$("$PFL_CLI" check-config -c "$MILTER_CONF" --postfix-dir "$PFD" \
		"$@" 2>&1)
	rc=$?
}

# --- a good configuration ------------------------------------------------
pf
cc
is "$rc" 0 "a good configuration exits 0"
unlike "$out" '^(warn|error) ' "and prints no warn or error line"
like "$out" '^ok +smtp_tls_security_level: may$' "TLS level may is ok"
like "$out" '^ok +smtp_helo_name: mta\.preflight\.test, as EgressHelo$' \
	"the HELO name (\$myhostname expanded) is EgressHelo"
like "$out" "^ok +smtpd_milters: $US is listed\$" \
	"preflight's inet:PORT@ADDR Socket is found as inet:ADDR:PORT"
like "$out" "^ok +non_smtpd_milters: $US is listed\$" \
	"non_smtpd_milters = \$smtpd_milters is expanded"
like "$out" '^ok +milter_default_action: tempfail: while preflight is down mail waits' \
	"milter_default_action is explained"
like "$out" '^ok +relayhost: none' "no relayhost: nothing to authenticate"

# --- TLS and HELO --------------------------------------------------------
pf "smtp_tls_security_level = none"
cc
is "$rc" 1 "TLS level none exits 1"
like "$out" '^warn +smtp_tls_security_level: none: mail leaves in plaintext.*; fix: smtp_tls_security_level = may$' \
	"TLS level none is a warn with the fix"

pf "smtp_tls_security_level =" "smtp_use_tls = yes"
cc
like "$out" '^ok +smtp_tls_security_level: may$' \
	"an empty level with the older smtp_use_tls = yes counts as may"

pf "smtp_helo_name = relay.preflight.test"
cc
is "$rc" 1 "a HELO name other than EgressHelo exits 1"
like "$out" '^warn +smtp_helo_name: Postfix says HELO relay\.preflight\.test, preflight.s EgressHelo is mta\.preflight\.test' \
	"the warn names both names"

# the smtp client's settings as its master.cf service sees them
pf
postconf -c "$PFD" -P "smtp/unix/smtp_helo_name=other.preflight.test"
cc
like "$out" '^warn +smtp_helo_name: Postfix says HELO other\.preflight\.test' \
	"an -o smtp_helo_name on the smtp service counts"

# --- the milter lists ----------------------------------------------------
pf "smtpd_milters = unix:/run/other.sock"
cc
is "$rc" 2 "preflight missing from smtpd_milters exits 2"
like "$out" "^error +smtpd_milters: $US is not listed: mail passes unchecked; fix: smtpd_milters = unix:/run/other.sock, $US\$" \
	"the error gives the list to write"

pf "smtpd_milters = $US, $DKIM"
cc
is "$rc" 1 "preflight before the opendkim socket exits 1"
like "$out" "^warn +smtpd_milters: $US comes before the DKIM signer $DKIM; fix: list preflight after the DKIM signer so it sees the signature\$" \
	"the warn says to list preflight after the signer"

pf "smtpd_milters = $US, { inet:127.0.0.1:1, connect_timeout=10s }"
cc
is "$rc" 0 "a milter after preflight that is no signer is fine"
like "$out" "^ok +smtpd_milters: $US is listed" "braces { ... } are read"

pf "non_smtpd_milters ="
cc
is "$rc" 1 "non_smtpd_milters without preflight exits 1"
like "$out" "^warn +non_smtpd_milters: $US is not listed: locally submitted mail \(sendmail\(1\), cron\) is not checked" \
	"the warn says local submission goes unchecked"

pf "smtpd_milters = inet:192.0.2.1:$MILTER_PORT"
cc
like "$out" "^warn +smtpd_milters: inet:192\.0\.2\.1:$MILTER_PORT has preflight's port but preflight listens on $US" \
	"same port, other host: a warn, not a match"

pf "smtpd_milters = inet:localhost:$MILTER_PORT"
cc
like "$out" "^ok +smtpd_milters: $US is listed" "localhost is 127.0.0.1"

# a service's own -o smtpd_milters= replaces main.cf's for that service
pf
cat >>"$PFD/master.cf" <<EOF
submission inet n       -       n       -       -       smtpd
  -o smtpd_milters=$DKIM
EOF
cc
is "$rc" 2 "a service overriding smtpd_milters without preflight exits 2"
like "$out" "^error +submission/inet/smtpd_milters: $US is not listed.*; fix: -o smtpd_milters=$DKIM, $US\$" \
	"the error names the master.cf service"
like "$out" "^ok +smtpd_milters: $US is listed" \
	"main.cf is still checked for the smtp service"

pf
cat >>"$PFD/master.cf" <<EOF
127.0.0.1:10025 inet n  -       n       -       -       smtpd
  -o smtpd_milters=
EOF
cc
like "$out" "^warn +127\.0\.0\.1:10025/inet/smtpd_milters: -o smtpd_milters= in master\.cf: no milter sees the mail" \
	"a service with its milters switched off is a warn"

# a chrooted smtpd sees unix sockets under the queue directory
pf "smtpd_milters = unix:/run/preflight/milter.sock"
sed -i 's/^smtp      inet  n       -       n/smtp      inet  n       -       y/' "$PFD/master.cf"
cc --milter unix:/run/preflight/milter.sock
is "$rc" 2 "a unix socket outside the chroot of a chrooted smtpd exits 2"
like "$out" "^error +smtpd_milters: smtpd runs chrooted in $T/pf/queue, so unix:/run/preflight/milter.sock is not preflight's" \
	"the error explains the chroot"
pf "smtpd_milters = unix:preflight/milter.sock" "non_smtpd_milters ="
sed -i 's/^smtp      inet  n       -       n/smtp      inet  n       -       y/' "$PFD/master.cf"
cc --milter "unix:$T/pf/queue/preflight/milter.sock"
like "$out" "^ok +smtpd_milters: unix:$T/pf/queue/preflight/milter.sock is listed" \
	"a relative unix path lies under the queue directory"

# --- relay on a submission port ------------------------------------------
M365='[smtp.office365.com]:587'
pf "relayhost = $M365"
cc
is "$rc" 2 "relayhost on 587 without smtp_sasl_auth_enable exits 2"
like "$out" "^error +relayhost: \[smtp\.office365\.com\]:587 takes mail only from authenticated clients but smtp_sasl_auth_enable is not yes: it will answer 530 5\.7\.57 Client not authenticated" \
	"the error names 530 5.7.57"
like "$out" '^error +relayhost: .*fix: smtp_sasl_auth_enable = yes .*Microsoft 365 also needs SMTP AUTH enabled on the mailbox' \
	"the fix names what Microsoft 365 needs"
like "$out" '^warn +relayhost: \[smtp\.office365\.com\]:587 with smtp_tls_security_level = may: the password goes in clear' \
	"TLS may towards a submission port is a warn"

pf "relayhost = $M365" "smtp_sasl_auth_enable = yes"
cc
like "$out" '^error +relayhost: \[smtp\.office365\.com\]:587: smtp_sasl_password_maps is empty' \
	"SASL on without a password map is an error"

pf "relayhost = $M365" "smtp_sasl_auth_enable = yes" \
	"smtp_sasl_password_maps = hash:$T/sasl_passwd" \
	"smtp_tls_security_level = encrypt"
printf 'smtp.office365.com:587 user@example.com:secret\n' >"$T/sasl_passwd"
postmap -c "$PFD" "hash:$T/sasl_passwd"
cc
is "$rc" 2 "a password map keyed otherwise than relayhost exits 2"
like "$out" "^error +relayhost: hash:$T/sasl_passwd has no entry for \[smtp\.office365\.com\]:587 \(nor smtp\.office365\.com\)" \
	"postmap -q finds no entry for the relay's keys"

printf '%s user@example.com:secret\n' "$M365" >"$T/sasl_passwd"
postmap -c "$PFD" "hash:$T/sasl_passwd"
cc
is "$rc" 0 "with SASL, a password entry and TLS encrypt it exits 0"
like "$out" '^ok +relayhost: \[smtp\.office365\.com\]:587 with SMTP AUTH over TLS \(encrypt\)$' \
	"the relay is ok"
unlike "$out" '^(warn|error) ' "and nothing else is wrong"

rm -f "$T/sasl_passwd.db"
cc
is "$rc" 2 "an unreadable password map exits 2"
like "$out" "^error +relayhost: hash:$T/sasl_passwd cannot be read \(postmap: fatal: .*\): mail to \[smtp\.office365\.com\]:587 is deferred" \
	"the error quotes postmap"

pf "relayhost = [smtp.office365.com]:587" "smtp_sasl_auth_enable = yes" \
	"smtp_sasl_password_maps = static:user:secret" \
	"smtp_tls_security_level = none"
cc
like "$out" '^error +relayhost: \[smtp\.office365\.com\]:587 with smtp_tls_security_level = none: the password would go in clear' \
	"TLS none towards a submission port is an error"

pf "relayhost = [mail.example.net]:465" "smtp_sasl_auth_enable = yes" \
	"smtp_sasl_password_maps = static:user:secret" \
	"smtp_tls_security_level = encrypt"
cc
is "$rc" 2 "relayhost on 465 without smtp_tls_wrappermode exits 2"
like "$out" '^error +relayhost: \[mail\.example\.net\]:465 expects TLS from the first byte, but smtp_tls_wrappermode is not yes.*fix: smtp_tls_wrappermode = yes' \
	"the error says to turn on wrapper mode"
postconf -c "$PFD" -e "smtp_tls_wrappermode = yes"
cc
is "$rc" 0 "with smtp_tls_wrappermode = yes it exits 0"
like "$out" '^ok +relayhost: \[mail\.example\.net\]:465 with SMTP AUTH over TLS \(encrypt, wrapper mode\)$' \
	"the relay on 465 is ok"

pf "default_transport = smtp:[smtp.office365.com]:submission"
cc
like "$out" '^error +default_transport: \[smtp\.office365\.com\]:submission takes mail only from authenticated clients' \
	"a default_transport nexthop is a relay too"
pf "default_transport = error:no mail leaves"
cc
like "$out" '^ok +relayhost: none' "an error transport is no relay"

printf '@example.com [smtp.gmail.com]:smtps\n' >"$T/sdrh"
pf "sender_dependent_relayhost_maps = texthash:$T/sdrh"
cc
is "$rc" 2 "a sender-dependent relay on smtps without SASL exits 2"
like "$out" '^error +sender_dependent_relayhost_maps: \[smtp\.gmail\.com\]:smtps takes mail only from authenticated clients.*Google needs an app password' \
	"the map is listed with postmap -s and the fix names Google"
like "$out" '^error +sender_dependent_relayhost_maps: \[smtp\.gmail\.com\]:smtps expects TLS from the first byte' \
	"and wrapper mode is asked for"

# --- what it cannot read -------------------------------------------------
cc --postfix-dir "$T/nowhere"
is "$rc" 69 "postconf failing exits 69"
like "$out" "postconf -c $T/nowhere .*failed: postconf: fatal: open $T/nowhere/main.cf" \
	"and says why"
# a postconf that hangs (first in PATH) is given up after 10 s, with
# what it started
mkdir -p "$T/bin"
cat >"$T/bin/postconf" <<SH
#!/bin/sh
sleep 60 &
echo \$\$ \$! >"$T/bin/pids"
exec sleep 60
SH
chmod 755 "$T/bin/postconf"
out=$(PATH="$T/bin:$PATH" "$PFL_CLI" check-config -c "$MILTER_CONF" \
	--postfix-dir "$PFD" 2>&1)
is "$?" 69 "a postconf that does not answer exits 69"
like "$out" "postconf: no answer in 10 s" "after 10 seconds"
running() { # running PID - alive and not a zombie waiting for init
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -n "$st" ] && [ "${st#Z}" = "$st" ]
}
left=
for pid in $(cat "$T/bin/pids"); do
	for ((i = 0; i < 40; i++)); do
		running "$pid" || break
		sleep 0.05
	done
	running "$pid" && left="$left $pid"
done
is "$left" "" "it and what it started are killed (its process group)"
out=$("$PFL_CLI" check-config -c "$T/missing.conf" --postfix-dir "$PFD" 2>&1)
is "$?" 78 "a bad preflight config exits 78"
