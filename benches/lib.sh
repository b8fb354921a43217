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

# Makes $WORK, a fresh directory named after $1, and an empty $PIDS; on exit the processes in
# $PIDS are killed and $WORK is removed. $WORK is on /dev/shm (a tmpfs) where there is one,
# else under /tmp (or $BENCH_TMP): the reports the tools write (tens of megabytes) then cost
# what writing them costs, not the disk's write-back, which would time the disk instead.
bench_workdir() {
    local base=${BENCH_TMP:-/tmp}
    [ -z "${BENCH_TMP:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
    WORK=$(mktemp -d "$base/$1.XXXXXX")
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

# Waits (up to 10 minutes) until the DNS server on 127.0.0.1:$1 answers an A query for $2 with
# 127.0.0.2: a server loading a large zone answers only once the zone is loaded. Written in
# Python, not with dig, which not every machine has.
wait_listed() {
    python3 - "$1" "$2" <<'PY'
import socket, struct, sys, time
port, qname = int(sys.argv[1]), sys.argv[2]
name = b"".join(bytes([len(l)]) + l.encode() for l in qname.split(".")) + b"\0"
query = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.02)
deadline = time.time() + 600
while time.time() < deadline:
    try:
        s.sendto(query, ("127.0.0.1", port))
        reply = s.recv(4096)
        # An A record of 127.0.0.2: its data length, then its four octets.
        if reply[:2] == b"\x42\x42" and b"\x00\x04\x7f\x00\x00\x02" in reply[12:]:
            sys.exit(0)
    except OSError:
        time.sleep(0.02)
sys.exit("server on port %d did not list 127.0.0.2 in time" % port)
PY
}
