#!/bin/bash
# install-deps.sh - install (with apt-get) what preflight builds and tests with.
# Run as root on Debian 12. Never writes a Postfix configuration: the postfix
# package is installed with "No configuration", and nothing is started.
set -euo pipefail

PKGS=(
	build-essential autoconf automake libtool pkg-config clang-format clang
	libmilter-dev libspf2-dev libopendkim-dev libopendmarc-dev
	libunbound-dev libevent-dev nettle-dev libssl-dev
	liblmdb-dev libhiredis-dev libcmocka-dev libgmime-3.0-dev
	postfix nsd rbldnsd redis-server opendkim opendkim-tools opendmarc
	miltertest swaks publicsuffix bind9-dnsutils python3 python3-yaml
	iproute2 util-linux mandoc valgrind systemd
	liblockfile1 libwrap0 m4 libdb5.3 libldap-2.5-0 libnsl2 libsasl2-2 libssl3
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
# Sendmail (tests/e2e/t_sendmail.sh): its packages conflict with postfix,
# so they are downloaded and unpacked into SENDMAIL_CACHE/root, never
# installed; the libraries it links with are in PKGS above. tests/e2e/lib.sh
# runs it from there (PFL_SENDMAIL_ROOT). Done once: an unpacked tree with
# its stamp is kept.
SENDMAIL_CACHE=${PFL_SENDMAIL_CACHE:-/var/cache/preflight-test/sendmail}
SENDMAIL_DEBS=(sendmail-bin sendmail-base sendmail-cf)
fetch_sendmail() {
	local d=$SENDMAIL_CACHE dl f
	[ -e "$d/root/.unpacked" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: Sendmail not unpacked in $d; run as root" >&2
		exit 1
	fi
	echo "install-deps: fetching ${SENDMAIL_DEBS[*]} into $d"
	mkdir -p "$d"
	rm -rf "$d/debs.new" "$d/root.new"
	mkdir "$d/debs.new" "$d/root.new"
	# apt-get downloads as _apt: let it write there
	chown _apt "$d/debs.new" 2>/dev/null || true
	dl="apt-get download -qq ${SENDMAIL_DEBS[*]}"
	# no package lists yet (fresh machine), or stale ones: update, retry
	(cd "$d/debs.new" && $dl) 2>/dev/null || {
		apt-get update -qq
		(cd "$d/debs.new" && $dl)
	}
	for f in "$d"/debs.new/*.deb; do
		dpkg -x "$f" "$d/root.new"
		dpkg-deb -f "$f" Package Version | paste -sd' ' >>"$d/root.new/.unpacked"
	done
	[ -x "$d/root.new/usr/libexec/sendmail/sendmail" ] || {
		echo "install-deps: no sendmail binary in ${SENDMAIL_DEBS[*]}" >&2
		exit 1
	}
	rm -rf "$d/debs" "$d/root"
	mv "$d/debs.new" "$d/debs"
	mv "$d/root.new" "$d/root"
}
fetch_sendmail

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages (${missing[*]}); run as root" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
echo "postfix postfix/main_mailer_type select No configuration" |
	debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the packages' own services from starting
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
