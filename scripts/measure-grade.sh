#!/usr/bin/env bash
# Times `srpc-check grade` on a class of 30 fixture submissions (a mix of good, buggy and
# hostile servers, all on port 4444), and one good submission alone.
# Every copy of a fixture must get the same score: the distinct scores of each are printed.
# Usage: scripts/measure-grade.sh [JOBS]   (run as root, or where user namespaces work)
#        BIN=path/to/srpc-check scripts/measure-grade.sh   times that binary instead
set -euo pipefail
jobs="${1:-2}"
source "$(dirname "$0")/class-of-30.sh"
mkdir -p "$work/one"; cp -r "$work/class/s01-none" "$work/one/"

echo "class of $n submissions, --jobs $jobs:"
/usr/bin/time -f "  wall %e s" "$bin" grade "$work/class" --exec "$command" --out "$work/out" \
    --jobs "$jobs" --seed 1 2>&1 | grep -E "wall|submissions:"
python3 - "$work/out/summary.csv" <<'PY'
import csv, sys, collections
scores = collections.defaultdict(set)
for row in csv.DictReader(open(sys.argv[1])):
    scores[row["submission"].split("-", 1)[1]].add(row["score"])
same = all(len(s) == 1 for s in scores.values())
print("  scores by fixture:", "; ".join(f"{b} {'/'.join(sorted(s))}" for b, s in sorted(scores.items())))
print("  every copy of a fixture scored the same:", "yes" if same else "NO")
PY
echo "one good submission:"
/usr/bin/time -f "  wall %e s" "$bin" grade "$work/one" --exec "$command" --out "$work/out1" \
    --seed 1 2>&1 | grep -E "wall|submissions:"
