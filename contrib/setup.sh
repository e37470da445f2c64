#!/bin/sh
# bulletin's set-up on a fresh Debian 12 machine, as root:
#   sh contrib/setup.sh demo   install what is missing, build, run the demo
#   sh contrib/setup.sh test   install what is missing, build, run every
#                              test, the unit tests under valgrind, then
#                              every test again under ASan and UBSan
# Both are idempotent: a second run installs nothing and rebuilds only
# what changed.
set -eu

mode=${1:-}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# libdpkg-perl: Debian's libetpan.pc links with
# -specs=/usr/share/dpkg/no-pie-link.specs, a file from that package,
# which a minimal Debian 12 does not have.
build_packages="meson ninja-build pkg-config gcc libc6-dev libdpkg-perl
libuv1-dev libcurl4-gnutls-dev libetpan-dev libsqlite3-dev libxml2-dev
libjansson-dev libinih-dev libutf8proc-dev libstemmer-dev libsodium-dev
libmicrohttpd-dev libgnutls28-dev libsystemd-dev"
# Tests: cmocka, a real HTTP server for feeds, the sqlite3 shell to hold
# a lock, curl as an HTTP client, util-linux for mount (disk-full test),
# python3 to read the delivered messages with its email parser, openssl
# for throwaway certificates, Dovecot for the IMAP tests, Postfix for
# its smtp-sink, aiosmtpd for an SMTP server with STARTTLS and AUTH, and
# dkimpy to sign a digest as contrib/dkim.txt says.
test_packages="libcmocka-dev nginx-light sqlite3 curl util-linux python3
clang-format valgrind openssl dovecot-imapd postfix python3-aiosmtpd
python3-dkim"

case "$mode" in
demo) packages=$build_packages ;;
test) packages="$build_packages $test_packages" ;;
*)
	echo "usage: sh contrib/setup.sh demo|test" >&2
	exit 2
	;;
esac

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "setup: installing:$missing"
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: run this as root to install packages" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Postfix only for its smtp-sink: no mail system is configured.
	case " $missing " in
	*" postfix "*)
		echo "postfix postfix/main_mailer_type select No configuration" |
			debconf-set-selections
		;;
	esac
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

# Creates the build directory once; later runs reuse it.
setup_build() {
	dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@"
	fi
	meson compile -C "$dir"
}

case "$mode" in
demo)
	setup_build build
	exec sh contrib/demo.sh
	;;
test)
	# Its own build directory: one made by "demo" would keep its cached
	# view of what was installed then (cmocka missing, say).
	setup_build build-test -Dtests=enabled -Dwerror=true
	meson test -C build-test --print-errorlogs
	meson test -C build-test --print-errorlogs --setup=valgrind --suite unit
	setup_build build-san -Dtests=enabled -Dwerror=true \
		-Db_sanitize=address,undefined -Db_lundef=false
	meson test -C build-san --print-errorlogs
	;;
esac
