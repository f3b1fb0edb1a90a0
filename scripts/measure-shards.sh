#!/usr/bin/env bash
# Times the class of scripts/measure-grade.sh graded in one run, and in 3 shards (one after
# another on this machine, as 3 machines would run them side by side) plus the merge, and checks
# the merged summary.csv against the single run's (timing columns aside).
# Usage: scripts/measure-shards.sh [JOBS]   (run as root, or where user namespaces work)
set -euo pipefail
jobs="${1:-2}"
source "$(dirname "$0")/class-of-30.sh"
secs() { python3 -c "import time; print(time.monotonic())"; }
t0=$(secs); "$bin" grade "$work/class" --exec "$command" --out "$work/one" --jobs "$jobs" --seed 1 >/dev/null 2>&1 || true; t1=$(secs)
echo "one run: $(python3 -c "print(f'{$t1 - $t0:.1f} s')")"
longest=0
for k in 1 2 3; do
    a=$(secs)
    "$bin" grade "$work/class" --exec "$command" --out "$work/shard-$k" --jobs "$jobs" --seed 1 \
        --partition "hash:$k/3" >/dev/null 2>&1 || true
    b=$(secs)
    took=$(python3 -c "print(f'{$b - $a:.1f}')")
    echo "shard $k of 3 ($(python3 -c "import json; print(len(json.load(open('$work/shard-$k/grade.json'))['submissions']))") submissions): $took s"
    longest=$(python3 -c "print(max($longest, $took))")
done
a=$(secs); "$bin" grade --merge "$work"/shard-1 "$work"/shard-2 "$work"/shard-3 --out "$work/merged" >/dev/null || true; b=$(secs)
merge=$(python3 -c "print(f'{$b - $a:.2f}')")
echo "merge: $merge s; on 3 machines: $(python3 -c "print(f'{$longest + $merge:.1f}')") s (the longest shard plus the merge)"
python3 - "$work/one/summary.csv" "$work/merged/summary.csv" <<'PY'
import csv, sys
def rows(p):
    r = list(csv.DictReader(open(p)))
    return [{k: v for k, v in row.items() if k not in ("duration_s", "peak_memory_mib")} for row in r]
print("merged summary.csv equals the single run's (timings aside):", "yes" if rows(sys.argv[1]) == rows(sys.argv[2]) else "NO")
PY
