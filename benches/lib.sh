# Helpers the benchmark scripts share; sourced, not run:
#
#   . "$(dirname "$0")/lib.sh"
#   need rbldnsd python3          # exits 2 naming the first missing tool
#   bench_workdir dnsbl-x-bench   # $WORK, removed on exit with every pid in $PIDS killed
#   PORT=$(free_port udp)         # a loopback port nobody bound a moment ago (tcp by default)

# Exits 2 unless every named tool is installed.
need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
    done
}

# Makes $WORK, a fresh directory under /tmp named after $1, and an empty $PIDS; on exit the
# processes in $PIDS are killed and $WORK is removed.
bench_workdir() {
    WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    chmod 755 "$WORK"
    PIDS=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}

# Prints a free loopback port: `free_port udp` for a DNS server, `free_port` (tcp) otherwise.
free_port() {
    local kind=SOCK_STREAM
    [ "${1:-tcp}" = udp ] && kind=SOCK_DGRAM
    python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.$kind); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"
}
