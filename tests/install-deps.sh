#!/bin/bash
# install-deps.sh - install (with apt-get) what preflight builds and tests with.
# Run as root on Debian 12. Never writes a Postfix configuration: the postfix
# package is installed with "No configuration", and nothing is started.
set -euo pipefail

PKGS=(
	build-essential autoconf automake libtool pkg-config clang-format
	libmilter-dev libspf2-dev libopendkim-dev libopendmarc-dev
	libunbound-dev libevent-dev nettle-dev libssl-dev
	liblmdb-dev libhiredis-dev libcmocka-dev libgmime-3.0-dev
	postfix nsd rbldnsd redis-server opendkim opendkim-tools opendmarc
	miltertest swaks publicsuffix bind9-dnsutils python3 python3-yaml
	iproute2 util-linux
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
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
