#!/usr/bin/env bash
# A sequential server whose own timeout on an idle client is exactly --timeout (2 s), just under
# it (1.9 s) and just over it (2.1 s): RUNS runs each of the two idle-client cases, half of them
# beside two CPU burners. Prints each timeout's verdicts and how often each was seen; a verdict
# that races the timeout shows as two different lines for one timeout.
# Usage: scripts/measure-boundary.sh [RUNS]   (default 20; builds the release binary)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
cargo build --release --quiet
bin=target/release/srpc-check
burners=()
stop_burners() {
    for pid in "${burners[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${burners[@]}"; do wait "$pid" 2>/dev/null || true; done
    burners=()
}
# One line a run: each case's status, finding and duration, then the load.
summary='
import json, sys
r = json.load(sys.stdin)
cases = [t["id"].split("/")[1] + "=" + t["status"] + ":" + str(t["finding"]) + ":" + str(t["duration_ms"]) + "ms" for t in r["tests"]]
print(" ".join(cases), sys.argv[1])
'
lines=$(mktemp)
trap 'stop_burners; rm -f "$lines"' EXIT
for timeout in 2 1.9 2.1; do
    : > "$lines"
    for run in $(seq 1 "$runs"); do
        if [ "$run" -gt $((runs / 2)) ] && [ "${#burners[@]}" -eq 0 ]; then
            sh -c 'while :; do :; done' & burners+=($!)
            sh -c 'while :; do :; done' & burners+=($!)
        fi
        load=idle
        [ "${#burners[@]}" -gt 0 ] && load=burners
        (cd tests/fixtures && "../../$bin" --exec "python3 lab_server.py --timeout $timeout" \
            --only 'concurrency/idle-client,concurrency/half-header-client' --format json || true) |
            python3 -c "$summary" "$load" >> "$lines"
    done
    stop_burners
    awk -v t="$timeout" '{ load[$NF]++; v=$1" "$2; gsub(/:[0-9]+ms/, "", v); seen[v]++; line[NR]=$0 }
        END { for (v in seen) printf "--timeout 2s, server timeout %ss: %d x %s\n", t, seen[v], v;
              for (i = 1; i <= NR; i++) print "   " line[i] }' "$lines"
done
