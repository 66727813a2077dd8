# Sourced by the scripts that install Debian packages on a fresh machine
# (scripts/install-test-deps.sh, scripts/fuzz-ci.sh).

# as_root WHO CMD...: runs CMD as root: directly when we are root, else through sudo; without
# either, fails with a message that names WHO (the calling script).
as_root() {
    local who="$1"
    shift
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "$who: must run as root (or with sudo available) to run: $*" >&2
        return 1
    fi
}

# apt_install WHO PACKAGE...: apt-get update, then installs the packages without recommends.
apt_install() {
    local who="$1"
    shift
    export DEBIAN_FRONTEND=noninteractive
    echo "$who: apt-get update"
    as_root "$who" apt-get update
    echo "$who: apt-get install $*"
    as_root "$who" apt-get install -y --no-install-recommends "$@"
}
