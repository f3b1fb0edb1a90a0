#!/usr/bin/env bash
# Measures the limits per submission (grade --memory, run as root where cgroups can be made):
#  1. the machine's memory growth while grading a submission whose 20 children hold 200 MiB
#     each beside a correct one, at --memory 256M --jobs 2 (sampled every 50 ms from
#     /proc/meminfo: MemTotal - MemAvailable);
#  2. the score of the correct sample submission with a pool of 64 threads started first, at
#     --memory 256M, against the same submission without the pool.
# Usage: scripts/measure-limits.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin="$PWD/target/release/srpc-check"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

used_mib() { awk '/^MemTotal:/ {t=$2} /^MemAvailable:/ {a=$2} END {printf "%d\n", (t-a)/1024}' /proc/meminfo; }

# 1. Twenty children of 200 MiB each, beside a correct server.
for name in children good; do
    mkdir -p "$work/class/$name"
    cp tests/fixtures/lab_server.py "$work/class/$name/"
done
echo '{"bug": "none", "children": [20, 200]}' > "$work/class/children/srpc.json"
echo '{"bug": "none"}' > "$work/class/good/srpc.json"
base=$(used_mib)
"$bin" grade "$work/class" --exec 'python3 lab_server.py --port 4444' --out "$work/out" \
    --memory 256M --jobs 2 --seed 1 > "$work/grade.log" 2>&1 &
grader=$!
peak=$base
while kill -0 "$grader" 2>/dev/null; do
    now=$(used_mib)
    [ "$now" -gt "$peak" ] && peak=$now
    sleep 0.05
done
wait "$grader" || true
echo "memory in use before: ${base} MiB, peak while grading: ${peak} MiB, growth: $((peak - base)) MiB (two limits: 512 MiB)"
show() { python3 -c 'import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    print("  %s: score %s/%s, peak %s MiB, findings: %s %s" % (r["submission"], r["score"], r["max_score"], r["peak_memory_mib"], r["findings"], r["note"]))' "$1"; }
show "$work/out/summary.csv"

# 2. The correct sample submission, with and without a pool of 64 threads.
for name in plain pool; do
    mkdir -p "$work/threads/$name"
    cp examples/sample-submission/srpc_lab.py "$work/threads/$name/"
done
cat > "$work/threads/pool/sitecustomize.py" <<'EOF'
import threading, time
for _ in range(64):
    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
print("started 64 threads", flush=True)
EOF
"$bin" grade "$work/threads" --exec 'PYTHONPATH=. python3 srpc_lab.py SERVER' \
    --out "$work/out2" --memory 256M --jobs 2 --seed 1 > /dev/null 2>&1
echo "the sample submission at --memory 256M, without and with 64 threads:"
show "$work/out2/summary.csv"
grep -c "started 64 threads" "$work/out2/pool/server.log" | sed 's/^/  pool started (lines in its log): /'
