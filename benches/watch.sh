#!/usr/bin/env bash
# Watch mode at scale, on loopback: a /16 watched against 4 lists served by one rbldnsd.
#
#   benches/watch.sh [--rounds N] [--prefix P]
#
# Measures, with the release build of the dnsbl-check example:
#   - a bulk scan of the same queries (the /16 against the 4 lists, one run);
#   - watch mode: the first round (baseline, every pair written to a new state file) and
#     the following rounds, where nothing changes, each timed by the watcher itself;
#   - the watcher's peak RSS (VmHWM), the bulk scan's peak RSS, and the state file's size.
# Needs rbldnsd and python3. Traffic goes only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

ROUNDS=3
PREFIX=16
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift ;;
        --prefix) PREFIX=$2; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
NET=10.0.0.0/$PREFIX
TARGETS=$((1 << (32 - PREFIX)))
RBLDNSD=${RBLDNSD:-/usr/sbin/rbldnsd}
need "$RBLDNSD" python3

bench_workdir dnsbl-watch-bench

echo "--- data: $NET ($TARGETS addresses) on 4 lists, 1% of them listed on each"
python3 - "$WORK" "$PREFIX" <<'PY'
import sys
work, prefix = sys.argv[1], int(sys.argv[2])
n = 1 << (32 - prefix)
for k in range(4):
    with open(f"{work}/l{k}.ip4set", "w") as z:
        z.write(f":127.0.0.{2 + k}:listed on l{k}\n127.0.0.2\n")
        for i in range(n):
            if (i * 7919 + k * 104729) % 100 == 0:
                z.write(f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n")
PY
chmod 644 "$WORK"/*

PORT=$(free_port udp)
USER_ARGS=()
[ "$(id -u)" = 0 ] && USER_ARGS=(-u nobody)
ZONES=()
LISTS=()
for k in 0 1 2 3; do
    ZONES+=("l$k.bench:ip4set:$WORK/l$k.ip4set")
    LISTS+=(--zone "l$k.bench")
done
"$RBLDNSD" -n "${USER_ARGS[@]}" -b "127.0.0.1/$PORT" "${ZONES[@]}" >"$WORK/rbldnsd.log" 2>&1 &
PIDS+=($!)
sleep 1

echo "--- build (release)"
cargo build --release --example dnsbl-check -q
CLI=target/release/examples/dnsbl-check
COMMON=(--nameserver "127.0.0.1:$PORT" "${LISTS[@]}")
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

echo "--- bulk scan of the same queries"
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$WORK/bulk.rss" "$CLI" "${COMMON[@]}" --quiet --format json "$NET" \
    >"$WORK/bulk.json" 2>"$WORK/bulk.err" || [ $? = 1 ]
end=$(date +%s.%N)
BULK=$(python3 -c "print(f'{$end - $start:.2f}')")
echo "bulk scan: ${BULK} s, $(wc -l <"$WORK/bulk.json") reports, peak RSS $(( $(tail -1 "$WORK/bulk.rss") / 1024 )) MiB"

echo "--- watch: $ROUNDS rounds (the first is the baseline)"
# Made here: the watcher opens it only once it runs, and the loop below reads it at once.
: >"$WORK/watch.err"
"$CLI" "${COMMON[@]}" --watch 1 --state "$WORK/state.db" --format json -v "$NET" \
    >"$WORK/events.json" 2>"$WORK/watch.err" &
WATCH=$!
PIDS+=($WATCH)
PEAK=0
while [ "$(grep -c 'round done' "$WORK/watch.err" || true)" -lt "$ROUNDS" ]; do
    kill -0 "$WATCH" 2>/dev/null || { cat "$WORK/watch.err" >&2; exit 1; }
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$WATCH/status" 2>/dev/null || echo 0)
    [ "${hwm:-0}" -gt "$PEAK" ] && PEAK=$hwm
    sleep 0.2
done
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$WATCH/status")
[ "$hwm" -gt "$PEAK" ] && PEAK=$hwm
kill -TERM "$WATCH"
wait "$WATCH" && status=0 || status=$?
grep 'round done' "$WORK/watch.err" | sed 's/\x1b\[[0-9;]*m//g' |
    sed -n 's/.*checked=\([0-9]*\).*events=\([0-9]*\).* seconds=\([0-9.e+-]*\).*save_seconds=\([0-9.e+-]*\).*complete=\([a-z]*\).*/\1 \2 \3 \4 \5/p' |
    awk -v bulk="$BULK" '{
        note = ($5 == "true") ? "" : "  [stopped by SIGTERM mid-round: partial, saved]"
        printf "round %d: %d targets, %d events, checks %.2f s + save %.2f s = %.2f s (%.2fx the bulk scan)%s\n",
            NR, $1, $2, $3, $4, $3 + $4, ($3 + $4) / bulk, note }'
echo "watcher peak RSS: $((PEAK / 1024)) MiB; exit status after SIGTERM: $status"
echo "state file: $(du -k "$WORK/state.db" | cut -f1) KiB ($(stat -c %s "$WORK/state.db") bytes)"
echo "events printed: $(wc -l <"$WORK/events.json") (the baseline is silent)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
