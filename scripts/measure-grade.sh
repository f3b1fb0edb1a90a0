#!/usr/bin/env bash
# Times `srpc-check grade` on a class of 30 fixture submissions (a mix of good, buggy and
# hostile servers, all on port 4444), and one good submission alone.
# Usage: scripts/measure-grade.sh [JOBS]   (run as root, or where user namespaces work)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${1:-2}"
cargo build --release -q
bin="$PWD/target/release/srpc-check"
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
echo "one good submission:"
/usr/bin/time -f "  wall %e s" "$bin" grade "$work/one" --exec "$command" --out "$work/out1" \
    --seed 1 2>&1 | grep -E "wall|submissions:"
