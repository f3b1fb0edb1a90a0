#!/usr/bin/env bash
# Times `srpc-check grade` on a class of 30 fixture submissions (a mix of good, buggy and
# hostile servers, all on port 4444), and one good submission alone.
# Every copy of a fixture must get the same score: the distinct scores of each are printed.
# Usage: scripts/measure-grade.sh [JOBS]   (run as root, or where user namespaces work)
#        BIN=path/to/srpc-check scripts/measure-grade.sh   times that binary instead
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${1:-2}"
if [ -z "${BIN:-}" ]; then cargo build --release -q; fi
bin="${BIN:-$PWD/target/release/srpc-check}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

add() { # name bug
    mkdir -p "$work/class/$1"
    cp tests/fixtures/lab_server.py "$work/class/$1/"
    printf '{"bug": "%s"}\n' "$2" > "$work/class/$1/srpc.json"
}
n=0
for spec in none:10 broken-pipe:4 one-shot:3 hang:3 hostname:3 daemon:2 be-error:2 \
            never-listen:1 allocate:1 spin:1; do
    bug="${spec%%:*}"
    for _ in $(seq "${spec##*:}"); do n=$((n + 1)); add "$(printf 's%02d-%s' "$n" "$bug")" "$bug"; done
done
mkdir -p "$work/one"; cp -r "$work/class/s01-none" "$work/one/"

command='python3 lab_server.py --port 4444'
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
