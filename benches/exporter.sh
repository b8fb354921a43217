#!/usr/bin/env bash
# dnsbl-exporter on loopback, against one rbldnsd serving four lists:
#
#   1. memory: the exporter watches a /16 against the four lists; after --rounds rounds, its
#      peak RSS (VmHWM) and the rounds' duration are printed.
#   2. scrape latency: the exporter watches --named named addresses (a tenth of them listed);
#      after its first round, /metrics is fetched --scrapes times one after another, and the
#      p50/p90/p99/max of curl's total time are printed.
#
#   benches/exporter.sh [--rounds N] [--named N] [--scrapes N] [--skip-memory] [--skip-scrape]
#
# Needs rbldnsd, curl and python3. Traffic goes only to 127.0.0.1. The exporter is built in
# release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

ROUNDS=2
NAMED=1000
SCRAPES=1000
MEMORY=1
SCRAPE=1
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift ;;
        --named) NAMED=$2; shift ;;
        --scrapes) SCRAPES=$2; shift ;;
        --skip-memory) MEMORY=0 ;;
        --skip-scrape) SCRAPE=0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

RBLDNSD=${RBLDNSD:-/usr/sbin/rbldnsd}
need "$RBLDNSD" curl python3

bench_workdir dnsbl-exporter-bench

cargo build --release --example dnsbl-exporter 2>&1 | tail -1
EXPORTER=target/release/examples/dnsbl-exporter

# Four lists over 10.0.0.0/16: each lists the RFC 5782 test point and a different 1/8 of
# the /16 (and 10.1.0.0/24, where the named targets of part 2 live, is 10% listed on bl1).
python3 - "$WORK" <<'EOF'
import sys
work = sys.argv[1]
for n in range(1, 5):
    with open(f"{work}/bl{n}.zone", "w") as f:
        f.write(":127.0.0.2:Listed $\n127.0.0.2\n")
        f.write(f"10.0.{(n - 1) * 32}.0/21\n")
        if n == 1:
            for i in range(0, 1000, 10):
                f.write(f"10.1.{i // 256}.{i % 256}\n")
EOF
chmod 644 "$WORK"/*.zone
DNS_PORT=$(free_port udp)
"$RBLDNSD" -n -u nobody -b "127.0.0.1/$DNS_PORT" -r "$WORK" -t 60 \
    bl1.test:ip4set:bl1.zone bl2.test:ip4set:bl2.zone \
    bl3.test:ip4set:bl3.zone bl4.test:ip4set:bl4.zone >"$WORK/rbldnsd.log" 2>&1 &
PIDS+=($!)
sleep 1

LISTS=(--zone bl1.test --zone bl2.test --zone bl3.test --zone bl4.test)

# Waits until the exporter on $1 reports $2 finished rounds.
wait_rounds() {
    local port=$1 want=$2 n
    for _ in $(seq 1 3000); do
        n=$(curl -s "127.0.0.1:$port/metrics" | awk '$1 == "dnsbl_rounds_total" {print $2}')
        if [ -n "$n" ] && [ "$n" -ge "$want" ]; then return 0; fi
        sleep 0.2
    done
    echo "exporter did not finish $want rounds" >&2
    return 1
}

if [ "$MEMORY" = 1 ]; then
    PORT=$(free_port)
    # The interval is short so that rounds follow one another back to back.
    "$EXPORTER" --listen "127.0.0.1:$PORT" --interval 1 --nameserver "127.0.0.1:$DNS_PORT" \
        "${LISTS[@]}" --concurrency 200 10.0.0.0/16 2>"$WORK/exporter.log" &
    PID=$!
    PIDS+=($PID)
    START=$(date +%s.%N)
    wait_rounds "$PORT" "$ROUNDS"
    END=$(date +%s.%N)
    PAGE=$(curl -s "127.0.0.1:$PORT/metrics")
    HWM=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
    echo "memory: /16 x 4 lists, $ROUNDS rounds in $(python3 -c "print(round($END - $START, 1))") s;" \
        "last round $(echo "$PAGE" | awk '$1 == "dnsbl_last_round_duration_seconds" {print $2}') s;" \
        "peak RSS $((HWM / 1024)) MiB; /metrics $(echo "$PAGE" | wc -c) bytes"
    echo "$PAGE" | grep '^dnsbl_network_listed_addresses{' | sed 's/^/  /'
    kill "$PID"
fi

if [ "$SCRAPE" = 1 ]; then
    PORT=$(free_port)
    python3 -c "
for i in range($NAMED):
    print(f'10.{1 + i // 65536}.{(i // 256) % 256}.{i % 256}')" >"$WORK/targets.txt"
    "$EXPORTER" --listen "127.0.0.1:$PORT" --interval 3600 --nameserver "127.0.0.1:$DNS_PORT" \
        "${LISTS[@]}" --input "$WORK/targets.txt" 2>"$WORK/exporter.log" &
    PID=$!
    PIDS+=($PID)
    wait_rounds "$PORT" 1
    SERIES=$(curl -s "127.0.0.1:$PORT/metrics" | grep -c '^dnsbl_listed{' || true)
    for _ in $(seq 1 "$SCRAPES"); do
        curl -s -o /dev/null -w '%{time_total}\n' "127.0.0.1:$PORT/metrics"
    done >"$WORK/times.txt"
    python3 - "$WORK/times.txt" "$NAMED" "$SERIES" <<'EOF'
import sys
times = sorted(float(line) * 1000 for line in open(sys.argv[1]))
pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(f"scrape: {sys.argv[2]} named targets x 4 lists ({sys.argv[3]} dnsbl_listed series), "
      f"{len(times)} scrapes: p50 {pick(0.5):.2f} ms, p90 {pick(0.9):.2f} ms, "
      f"p99 {pick(0.99):.2f} ms, max {times[-1]:.2f} ms")
EOF
    kill "$PID"
fi
