#!/usr/bin/env bash
# A local mirror against rbldnsd: a 1,000,000-entry ip4set answered in-process, against
# dnsperf asking rbldnsd (serving the same file) the same names. Four ways in: the tool
# (`dnsbl-check --zone-data`, a JSON report per target; and with `--only listed`, the listed
# targets' reports only), the library's checker over the mirror
# (`benches/mirror_scan.rs --mode checker`, listed targets printed), and the mirror's lookups
# alone (`--mode direct`). Also the load time and memory of that file, ours against rbldnsd's.
#
#   benches/mirror.sh [--rounds N] [--entries N] [--targets N]
#
# Every run of ours is verified: one report per target, exactly the expected targets listed,
# no trouble; and no DNS query leaves the process (its --nameserver is a UDP socket this
# script holds and counts packets on). Needs rbldnsd, dnsperf, python3 and GNU time. Traffic
# goes only to 127.0.0.1. Prints one line per run, then medians and the ratio ours/dnsperf.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

ROUNDS=3
ENTRIES=1000000
TARGETS=1000000
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift ;;
        --entries) ENTRIES=$2; shift ;;
        --targets) TARGETS=$2; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
RBLDNSD=${RBLDNSD:-/usr/sbin/rbldnsd}
need "$RBLDNSD" dnsperf python3 /usr/bin/time
bench_workdir dnsbl-mirror-bench
ZONE=mirror.test

echo "--- load: $(uptime)"
echo "--- data: an ip4set of $ENTRIES addresses in 10.0.0.0/8; $TARGETS targets, 30% of them listed"
python3 - "$WORK" "$ENTRIES" "$TARGETS" "$ZONE" <<'PY'
import random, sys
work, entries, targets, zone = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = random.Random(20261204)
listed = set()
while len(listed) < entries:
    listed.add(0x0a000000 | rng.getrandbits(24))
listed_list = sorted(listed)
def dotted(a):
    return "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255)
with open(work + "/data", "w") as f:
    f.write("$SOA 60 ns.%s hostmaster.%s 1 3600 600 86400 60\n" % (zone, zone))
    f.write(":127.0.0.2:Listed, see https://%s/q?$\n127.0.0.2\n" % zone)
    shuffled = listed_list[:]
    rng.shuffle(shuffled)
    f.write("\n".join(dotted(a) for a in shuffled) + "\n")
chosen = set()
asked = []
while len(asked) < targets:
    if rng.random() < 0.3:
        a = listed_list[rng.randrange(len(listed_list))]
    else:
        a = 0x0a000000 | rng.getrandbits(24)
        if a in listed:
            continue
    if a in chosen:
        continue
    chosen.add(a)
    asked.append(a)
with open(work + "/targets.txt", "w") as t, open(work + "/names.txt", "w") as n:
    for a in asked:
        t.write(dotted(a) + "\n")
        n.write("%d.%d.%d.%d.%s A\n" % (a & 255, (a >> 8) & 255, (a >> 16) & 255, a >> 24, zone))
with open(work + "/expected.txt", "w") as e:
    e.write("\n".join(sorted(dotted(a) for a in asked if a in listed)) + "\n")
PY
chmod 644 "$WORK"/*
EXPECTED=$(wc -l <"$WORK/expected.txt")
echo "expected listed: $EXPECTED"

cargo build --release --example dnsbl-check -q
CLI=target/release/examples/dnsbl-check
cargo build --release --bench mirror_scan -q 2>/dev/null || cargo build --release --bench mirror_scan
SCAN=$(cargo bench --bench mirror_scan --no-run --message-format=json -q 2>/dev/null |
    python3 -c 'import json,sys; print([j["executable"] for j in map(json.loads, sys.stdin) if j.get("executable") and "/mirror_scan-" in j["executable"]][-1])')

# The resolver behind the mirror: a UDP socket that counts what reaches it and never answers.
SINK_PORT=$(free_port udp)
python3 - "$SINK_PORT" "$WORK/sink.count" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
count = 0
open(sys.argv[2], "w").write("0\n")
while True:
    s.recv(4096)
    count += 1
    open(sys.argv[2], "w").write("%d\n" % count)
PY
PIDS+=($!)

echo "--- rbldnsd: load time and memory"
RBL_PORT=$(free_port udp)
start=$(date +%s.%N)
RUNAS=()
[ "$(id -u)" = 0 ] && RUNAS=(-u nobody)
"$RBLDNSD" -n "${RUNAS[@]}" -b "127.0.0.1/$RBL_PORT" -r "$WORK" "$ZONE:ip4set:data" >"$WORK/rbldnsd.log" 2>&1 &
RBL_PID=$!
PIDS+=("$RBL_PID")
wait_listed "$RBL_PORT" "2.0.0.127.$ZONE"
end=$(date +%s.%N)
RBL_RSS=$(awk '/VmRSS/ {print $2}' "/proc/$RBL_PID/status")
RBL_HWM=$(awk '/VmHWM/ {print $2}' "/proc/$RBL_PID/status")
echo "rbldnsd: answering after $(python3 -c "print('%.2f' % ($end - $start))") s; RSS $((RBL_RSS / 1024)) MiB (peak $((RBL_HWM / 1024)) MiB)"
grep -h "e32/24" "$WORK/rbldnsd.log" || true

echo "--- ours: load time and memory (one target)"
/usr/bin/time -v "$CLI" --zone "$ZONE" --zone-data "$ZONE:ip4set:$WORK/data" --no-txt --quiet \
    --nameserver "127.0.0.1:$SINK_PORT" --format json 127.0.0.2 >/dev/null 2>"$WORK/one.time" || [ $? = 1 ]
echo "ours: $(grep -E 'Elapsed' "$WORK/one.time" | sed 's/.*: //') s wall; peak RSS $(( $(awk '/Maximum resident/ {print $6}' "$WORK/one.time") / 1024 )) MiB"

ours() {
    /usr/bin/time -v "$CLI" --zone "$ZONE" --zone-data "$ZONE:ip4set:$WORK/data" --no-txt \
        --quiet --format json --input "$WORK/targets.txt" --nameserver "127.0.0.1:$SINK_PORT" \
        >"$1" 2>"$1.time" || [ $? = 1 ] # 1: something listed
}

# The tool writing only the listed targets' reports. Exit status 1 (something listed), never
# 2 (trouble): the reports of trouble are not written, so the exit status says there was none.
ours_listed() {
    local status=0
    /usr/bin/time -v "$CLI" --zone "$ZONE" --zone-data "$ZONE:ip4set:$WORK/data" --no-txt \
        --quiet --only listed --format json --input "$WORK/targets.txt" \
        --nameserver "127.0.0.1:$SINK_PORT" >"$1" 2>"$1.time" || status=$?
    echo "$status" >"$1.status"
}

verify_listed() {
    local status
    status=$(cat "$1.status")
    sed 's/^{"target":"\([^"]*\)".*/\1/' "$1" | sort >"$1.listed"
    if [ "$status" != 1 ] || ! cmp -s "$1.listed" "$WORK/expected.txt"; then
        echo "WRONG ANSWERS with --only listed: exit $status, $(wc -l <"$1.listed") listed (want $EXPECTED)" >&2
        exit 1
    fi
}

verify() {
    local lines trouble listed
    lines=$(wc -l <"$1")
    trouble=$(grep -c '"status":"\(failed\|invalid\|list_error\|skipped\)"' "$1" || true)
    grep '"listed":true' "$1" | sed 's/^{"target":"\([^"]*\)".*/\1/' | sort >"$1.listed"
    listed=$(wc -l <"$1.listed")
    if [ "$lines" != "$TARGETS" ] || [ "$trouble" != 0 ] || ! cmp -s "$1.listed" "$WORK/expected.txt"; then
        echo "WRONG ANSWERS: $lines reports (want $TARGETS), $trouble in trouble, $listed listed (want $EXPECTED)" >&2
        exit 1
    fi
    if [ "$(cat "$WORK/sink.count")" != 0 ]; then
        echo "QUERIES LEFT THE PROCESS: $(cat "$WORK/sink.count")" >&2
        exit 1
    fi
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: >"$WORK/dnsperf.rate"
for kind in cli cli-listed checker direct; do : >"$WORK/$kind.rate"; : >"$WORK/$kind.rss"; done

# The library without the tool: a checker over the mirror (listed targets printed), and the
# mirror's lookups alone. Both print the listed targets, verified like the tool's.
library() {
    /usr/bin/time -v "$SCAN" --mode "$1" --zone "$ZONE" --zone-data "$ZONE:ip4set:$WORK/data" \
        --input "$WORK/targets.txt" --output "$2" 2>"$2.time"
    sort "$2" >"$2.sorted"
    if ! cmp -s "$2.sorted" "$WORK/expected.txt" || ! grep -q "trouble=0" "$2.time"; then
        echo "WRONG ANSWERS from --mode $1: $(grep targets= "$2.time")" >&2
        exit 1
    fi
}

for round in $(seq 1 "$ROUNDS"); do
    dnsperf -s 127.0.0.1 -p "$RBL_PORT" -d "$WORK/names.txt" -n 1 -q 100 >"$WORK/dnsperf.out" 2>&1
    perf=$(awk '/Queries per second/ {print $4}' "$WORK/dnsperf.out")
    echo "$perf" >>"$WORK/dnsperf.rate"
    start=$(date +%s.%N)
    ours "$WORK/cli.json"
    end=$(date +%s.%N)
    verify "$WORK/cli.json"
    python3 -c "print('%.0f' % ($TARGETS / ($end - $start)))" >>"$WORK/cli.rate"
    echo $(( $(awk '/Maximum resident/ {print $6}' "$WORK/cli.json.time") / 1024 )) >>"$WORK/cli.rss"
    start=$(date +%s.%N)
    ours_listed "$WORK/cli-listed.json"
    end=$(date +%s.%N)
    verify_listed "$WORK/cli-listed.json"
    python3 -c "print('%.0f' % ($TARGETS / ($end - $start)))" >>"$WORK/cli-listed.rate"
    echo $(( $(awk '/Maximum resident/ {print $6}' "$WORK/cli-listed.json.time") / 1024 )) >>"$WORK/cli-listed.rss"
    for mode in checker direct; do
        library "$mode" "$WORK/$mode.out"
        sed -n 's/.* rate=\([0-9]*\).*/\1/p' "$WORK/$mode.out.time" >>"$WORK/$mode.rate"
        echo $(( $(awk '/Maximum resident/ {print $6}' "$WORK/$mode.out.time") / 1024 )) >>"$WORK/$mode.rss"
    done
    echo "round $round: dnsperf $perf q/s;" \
        "dnsbl-check --zone-data $(tail -1 "$WORK/cli.rate")/s ($(tail -1 "$WORK/cli.rss") MiB);" \
        "--only listed $(tail -1 "$WORK/cli-listed.rate")/s ($(tail -1 "$WORK/cli-listed.rss") MiB);" \
        "checker $(tail -1 "$WORK/checker.rate")/s ($(tail -1 "$WORK/checker.rss") MiB);" \
        "lookups $(tail -1 "$WORK/direct.rate")/s ($(tail -1 "$WORK/direct.rss") MiB);" \
        "$EXPECTED listed; queries out: $(cat "$WORK/sink.count")"
done
P=$(median <"$WORK/dnsperf.rate")
echo "--- medians of $ROUNDS rounds ($TARGETS targets, $EXPECTED listed each time); dnsperf against rbldnsd: $P q/s"
for kind in cli cli-listed checker direct; do
    O=$(median <"$WORK/$kind.rate"); R=$(median <"$WORK/$kind.rss")
    echo "$kind: $O checks/s ($(python3 -c "print('%.2f' % ($O / $P))")x dnsperf), peak RSS $R MiB"
done
grep -h load_seconds "$WORK/direct.out.time" | tail -1 | sed 's/^/library load of the data: /;s/ targets=.*//'
echo "--- load: $(uptime)"
