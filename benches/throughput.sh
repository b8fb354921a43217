#!/usr/bin/env bash
# Bulk throughput on loopback: dnsperf against our checker (stock hickory transport and pooled
# UDP transport), alternately, over the same query names, against one rbldnsd. Optionally
# through a local unbound in front of rbldnsd. Also fan-out latency and peak memory.
#
#   benches/throughput.sh [--rounds N] [--targets N] [--concurrency N] [--via-unbound]
#                         [--fanout] [--memory] [--skip-hickory] [--sockets N]
#                         [--runtime current|multi] [--baseline BIN] [--callgrind]
#
# --baseline BIN also runs another build of the command-line tool (say, of the main branch)
# in every round, pooled transport, so that a change is judged against it in the same run.
#
# --callgrind runs the command-line tool (pooled transport; and the --baseline build, if given)
# once under valgrind's callgrind instead of the timed rounds, and prints the instructions it
# executes in user space per check: a count that, unlike rates on a shared machine, repeats
# within a fraction of a percent. Try it with --targets 20000.
#
# Needs rbldnsd and dnsperf (and unbound for --via-unbound, GNU time for --memory). Traffic goes
# only to 127.0.0.1. Prints one line per run, then medians and the ratio ours/dnsperf, for
# queries per second and for CPU seconds (user + system) per 100,000 checks. Every run of ours
# is verified: the set of listed targets must be exactly the expected 30%.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=5
TARGETS=100000
CONCURRENCY=100
SOCKETS=8
VIA_UNBOUND=0
FANOUT=0
MEMORY=0
SKIP_HICKORY=0
RUNTIME=current
BASELINE=""
CALLGRIND=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift ;;
        --targets) TARGETS=$2; shift ;;
        --concurrency) CONCURRENCY=$2; shift ;;
        --sockets) SOCKETS=$2; shift ;;
        --runtime) RUNTIME=$2; shift ;;
        --baseline) BASELINE=$2; shift ;;
        --via-unbound) VIA_UNBOUND=1 ;;
        --fanout) FANOUT=1 ;;
        --memory) MEMORY=1 ;;
        --skip-hickory) SKIP_HICKORY=1 ;;
        --callgrind) CALLGRIND=1 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$TARGETS" -le 524288 ] || { echo "--targets: at most 524288 (a /13)" >&2; exit 2; }

RBLDNSD=${RBLDNSD:-/usr/sbin/rbldnsd}
. benches/lib.sh
need "$RBLDNSD" dnsperf python3
bench_workdir dnsbl-throughput

ZONE=bl.bench
echo "--- data: $TARGETS targets under 10.0.0.0/13, 30% listed"
python3 - "$TARGETS" "$WORK" "$ZONE" <<'EOF'
import sys
n, work, zone = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(f"{work}/zone.ip4set", "w") as z, open(f"{work}/targets.txt", "w") as t, \
     open(f"{work}/names.txt", "w") as q, open(f"{work}/expected.txt", "w") as e:
    z.write("$SOA 60 ns.%s hostmaster.%s 1 3600 600 86400 60\n:127.0.0.2:listed\n127.0.0.2\n" % (zone, zone))
    listed = []
    for i in range(n):
        a, b, c, d = 10, (i >> 16) & 255, (i >> 8) & 255, i & 255
        ip = f"{a}.{b}.{c}.{d}"
        t.write(ip + "\n")
        q.write(f"{d}.{c}.{b}.{a}.{zone} A\n")
        # Listed: 3 in every 10, spread (not one contiguous block).
        if (i * 7919) % 10 < 3:
            z.write(ip + "\n")
            listed.append(ip)
    e.write("\n".join(sorted(listed)) + "\n")
EOF
chmod 644 "$WORK"/*
EXPECTED=$(wc -l <"$WORK/expected.txt")
echo "expected listed: $EXPECTED"

RBL_PORT=$(free_port udp)
USER_ARGS=()
[ "$(id -u)" = 0 ] && USER_ARGS=(-u nobody)
ZONES=("$ZONE:ip4set:$WORK/zone.ip4set")
for i in $(seq 1 9); do ZONES+=("l$i.$ZONE:ip4set:$WORK/zone.ip4set"); done
"$RBLDNSD" -n "${USER_ARGS[@]}" -b "127.0.0.1/$RBL_PORT" "${ZONES[@]}" >"$WORK/rbldnsd.log" 2>&1 &
PIDS+=($!)
wait_listed "$RBL_PORT" "2.0.0.127.$ZONE"
SERVER_PORT=$RBL_PORT
SERVER_DESC="rbldnsd 127.0.0.1:$RBL_PORT"

if [ "$VIA_UNBOUND" = 1 ]; then
    command -v unbound >/dev/null || { echo "missing: unbound (apt-get install unbound)" >&2; exit 2; }
    UNBOUND_PORT=$(free_port udp)
    cat >"$WORK/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@$UNBOUND_PORT
    port: $UNBOUND_PORT
    do-ip6: no
    do-tcp: yes
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    username: ""
    chroot: ""
    directory: "$WORK"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 0
    num-threads: 1
    module-config: "iterator"
    qname-minimisation: no
    harden-below-nxdomain: no
    aggressive-nsec: no
    minimal-responses: yes
    msg-cache-size: 64m
    rrset-cache-size: 128m
    num-queries-per-thread: 4096
    outgoing-range: 8192
stub-zone:
    name: "$ZONE"
    stub-addr: 127.0.0.1@$RBL_PORT
EOF
    unbound -d -c "$WORK/unbound.conf" >"$WORK/unbound.log" 2>&1 &
    PIDS+=($!)
    wait_listed "$UNBOUND_PORT" "2.0.0.127.$ZONE"
    SERVER_PORT=$UNBOUND_PORT
    SERVER_DESC="unbound 127.0.0.1:$UNBOUND_PORT -> rbldnsd 127.0.0.1:$RBL_PORT"
    # Warm unbound's cache once, so that every measured run (dnsperf's and ours) is served
    # from it alike.
    dnsperf -s 127.0.0.1 -p "$UNBOUND_PORT" -d "$WORK/names.txt" -n 1 -q 100 >/dev/null
fi
echo "server: $SERVER_DESC"

echo "--- build (release)"
cargo build --release --bench scan -q 2>/dev/null || cargo build --release --bench scan
SCAN=$(cargo bench --bench scan --no-run --message-format=json -q 2>/dev/null |
    python3 -c 'import json,sys; print([j["executable"] for j in map(json.loads, sys.stdin) if j.get("executable") and "/scan-" in j["executable"]][-1])')
# The command-line tool, when it can choose the transport, is measured instead of the driver.
CLI=""
if [ -f examples/dnsbl-check/main.rs ] && grep -q -- 'transport' examples/dnsbl-check/main.rs; then
    cargo build --release --example dnsbl-check -q
    CLI=target/release/examples/dnsbl-check
    "$CLI" --help | grep -q -- '--transport' || CLI=""
fi
echo "checker: ${CLI:-$SCAN (bench driver, $RUNTIME-thread runtime)}"

VALGRIND=""
run_ours() { # transport output [binary]
    if [ -n "$CLI" ]; then
        $VALGRIND "${3:-$CLI}" --transport "$1" --zone "$ZONE" --no-txt --no-health-check --quiet --format json \
            --input "$WORK/targets.txt" --nameserver "127.0.0.1:$SERVER_PORT" \
            --concurrency "$CONCURRENCY" >"$2" 2>"$2.err" || [ $? = 1 ] # 1: something listed
    else
        "$SCAN" --transport "$1" --zone "$ZONE" --input "$WORK/targets.txt" --output "$2" \
            --nameserver "127.0.0.1:$SERVER_PORT" --concurrency "$CONCURRENCY" \
            --sockets "$SOCKETS" --runtime "$RUNTIME" 2>"$2.err"
    fi
}

verify() { # output
    local lines listed trouble
    lines=$(wc -l <"$1")
    trouble=$(grep -c '"status":"\(failed\|invalid\|list_error\)"' "$1" || true)
    grep '"listed":true' "$1" | sed 's/^{"target":"\([^"]*\)".*/\1/' | sort >"$1.listed"
    listed=$(wc -l <"$1.listed")
    if [ "$lines" != "$TARGETS" ] || [ "$trouble" != 0 ] || ! cmp -s "$1.listed" "$WORK/expected.txt"; then
        echo "WRONG ANSWERS: $lines reports (want $TARGETS), $trouble in trouble, $listed listed (want $EXPECTED)" >&2
        return 1
    fi
    echo "verified: $lines reports, $listed listed = expected, 0 trouble"
}

now() { date +%s.%N; }

# Runs "$@" (which sends its own output elsewhere) and sets CPU to its user + system CPU
# seconds per 100,000 queries, children included.
timed() {
    local TIMEFORMAT='%3U %3S'
    { time "$@"; } 2>"$WORK/cpu.time"
    CPU=$(awk -v n="$TARGETS" '{printf "%.3f", ($1 + $2) * 100000 / n}' "$WORK/cpu.time")
}

run_dnsperf() {
    dnsperf -s 127.0.0.1 -p "$SERVER_PORT" -d "$WORK/names.txt" -n 1 -c 1 -q "$CONCURRENCY" \
        >"$WORK/dnsperf.out" 2>&1
}

# Runs our tool once and verifies its reports; sets QPS (wall clock, process start to exit)
# and CPU, and prints them.
measure_ours() { # label transport output [binary]
    local start end
    start=$(now)
    timed run_ours "$2" "$3" ${4:+"$4"}
    end=$(now)
    QPS=$(python3 -c "print(round($TARGETS / ($end - $start)))")
    echo "round $round $1: $QPS q/s, $CPU CPU s per 100k" \
        "$(grep -o 'timeouts: [0-9]*' "$3.err" || true)"
    verify "$3"
}

# Runs our tool once under callgrind and prints its user-space instructions per check.
callgrind_ours() { # label output [binary]
    local out=$WORK/callgrind.$1 total
    VALGRIND="valgrind --tool=callgrind --callgrind-out-file=$out" run_ours pooled "$2" ${3:+"$3"}
    total=$(awk '/^summary:/ {print $2}' "$out")
    echo "$1: $total instructions, $((total / TARGETS)) per check"
    verify "$2"
}

if [ "$CALLGRIND" = 1 ]; then
    [ -n "$CLI" ] || { echo "--callgrind needs the command-line tool" >&2; exit 2; }
    command -v valgrind >/dev/null || { echo "missing: valgrind" >&2; exit 2; }
    echo "--- callgrind, $TARGETS checks, $CONCURRENCY in flight"
    callgrind_ours pooled "$WORK/pooled.jsonl"
    [ -z "$BASELINE" ] || callgrind_ours baseline "$WORK/base.jsonl" "$BASELINE"
    exit 0
fi

declare -a DNSPERF POOLED HICKORY BASE CPU_DNSPERF CPU_POOLED CPU_HICKORY CPU_BASE
echo "--- $ROUNDS rounds, alternating; $TARGETS queries each; $CONCURRENCY in flight"
# Every series starts empty: one never filled (no --baseline, --skip-hickory) is skipped below.
DNSPERF=() CPU_DNSPERF=() POOLED=() CPU_POOLED=() BASE=() CPU_BASE=() HICKORY=() CPU_HICKORY=()
for round in $(seq 1 "$ROUNDS"); do
    timed run_dnsperf
    CPU_DNSPERF+=("$CPU")
    qps=$(awk '/Queries per second/ {print $4}' "$WORK/dnsperf.out")
    lost=$(awk '/Queries lost/ {print $3}' "$WORK/dnsperf.out")
    noerror=$(sed -n "s/.*NOERROR \([0-9]*\).*/\1/p" "$WORK/dnsperf.out" | head -1)
    DNSPERF+=("$qps")
    echo "round $round dnsperf: $qps q/s, $CPU CPU s per 100k (lost $lost, NOERROR ${noerror:-0} = listed)"

    measure_ours pooled pooled "$WORK/pooled.jsonl"
    POOLED+=("$QPS")
    CPU_POOLED+=("$CPU")

    if [ -n "$BASELINE" ] && [ -n "$CLI" ]; then
        measure_ours baseline pooled "$WORK/base.jsonl" "$BASELINE"
        BASE+=("$QPS")
        CPU_BASE+=("$CPU")
    fi

    if [ "$SKIP_HICKORY" = 0 ]; then
        measure_ours hickory hickory "$WORK/hickory.jsonl"
        HICKORY+=("$QPS")
        CPU_HICKORY+=("$CPU")
    fi
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
M_DNSPERF=$(median "${DNSPERF[@]}")
M_POOLED=$(median "${POOLED[@]}")
echo "--- medians over $ROUNDS rounds ($SERVER_DESC)"
C_DNSPERF=$(median "${CPU_DNSPERF[@]}")
C_POOLED=$(median "${CPU_POOLED[@]}")
ratio() { python3 -c "print(round($1 / $2, 3))"; }
echo "dnsperf: $M_DNSPERF q/s, $C_DNSPERF CPU s per 100k"
echo "pooled:  $M_POOLED q/s  ratio pooled/dnsperf = $(ratio "$M_POOLED" "$M_DNSPERF");" \
    "$C_POOLED CPU s per 100k  ratio = $(ratio "$C_POOLED" "$C_DNSPERF")"
if [ ${#BASE[@]} -gt 0 ]; then
    M_BASE=$(median "${BASE[@]}")
    C_BASE=$(median "${CPU_BASE[@]}")
    echo "baseline: $M_BASE q/s  ratio baseline/dnsperf = $(ratio "$M_BASE" "$M_DNSPERF");" \
        "$C_BASE CPU s per 100k  ratio = $(ratio "$C_BASE" "$C_DNSPERF")"
fi
if [ "$SKIP_HICKORY" = 0 ]; then
    M_HICKORY=$(median "${HICKORY[@]}")
    C_HICKORY=$(median "${CPU_HICKORY[@]}")
    echo "hickory: $M_HICKORY q/s  ratio hickory/dnsperf = $(ratio "$M_HICKORY" "$M_DNSPERF");" \
        "$C_HICKORY CPU s per 100k  ratio = $(ratio "$C_HICKORY" "$C_DNSPERF")"
fi

if [ "$FANOUT" = 1 ]; then
    echo "--- fan-out: one address against 10 lists vs 1 list, sequential checks, 2000 samples"
    FAN_ZONES=(--zone "$ZONE")
    for i in $(seq 1 9); do FAN_ZONES+=(--zone "l$i.$ZONE"); done
    for transport in pooled hickory; do
        echo -n "$transport: "
        "$SCAN" --transport "$transport" "${FAN_ZONES[@]}" --nameserver "127.0.0.1:$SERVER_PORT" \
            --fanout-samples 2000 2>/dev/null
    done
fi

if [ "$MEMORY" = 1 ]; then
    [ -x /usr/bin/time ] || { echo "missing: /usr/bin/time (apt-get install time)" >&2; exit 2; }
    echo "--- memory: scanning 10.0.0.0/13 (524,288 addresses), peak RSS"
    for transport in pooled hickory; do
        /usr/bin/time -v "$SCAN" --transport "$transport" --zone "$ZONE" --target 10.0.0.0/13 \
            --nameserver "127.0.0.1:$SERVER_PORT" --concurrency "$CONCURRENCY" \
            2>"$WORK/time.$transport" >/dev/null
        rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.$transport")
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.$transport")
        summary=$(grep '^targets=' "$WORK/time.$transport" || true)
        echo "$transport: peak RSS ${rss} KiB, wall $wall, $summary"
    done
fi
