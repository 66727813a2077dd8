#!/usr/bin/env bash
# Installs what the sdk's integration tests need on a fresh Debian machine:
#   apache2 (with mod_auth_digest) and apache2-utils (htdigest), for sdk/tests/apache_digest.rs.
# Idempotent: does nothing when both are already present. Run as root (or through sudo).
set -euo pipefail

have_apache() {
    [ -x /usr/sbin/apache2 ] &&
        [ -f /usr/lib/apache2/modules/mod_auth_digest.so ] &&
        command -v htdigest >/dev/null 2>&1
}

if have_apache; then
    echo "install-test-deps: apache2 and htdigest already present; nothing to do"
    /usr/sbin/apache2 -v | head -n 1
    exit 0
fi

# shellcheck source=scripts/lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"
who=install-test-deps

# policy-rc.d exit 101 keeps the package from starting the system apache2 service: the tests
# start their own instances on free ports.
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root "$who" tee "$POLICY" >/dev/null
    as_root "$who" chmod 755 "$POLICY"
    CREATED_POLICY=1
fi
cleanup() {
    if [ "$CREATED_POLICY" -eq 1 ]; then
        as_root "$who" rm -f "$POLICY"
    fi
}
trap cleanup EXIT
apt_install "$who" apache2 apache2-utils

if have_apache; then
    echo "install-test-deps: installed $(/usr/sbin/apache2 -v | head -n 1)"
else
    echo "install-test-deps: apache2 or htdigest still missing after install" >&2
    exit 1
fi
