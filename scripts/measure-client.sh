#!/usr/bin/env bash
# Times `srpc-check client` against the correct fixture client (tests/fixtures/lab_client.py, the
# lab's six calls), RUNS times, with each case's duration (median over the runs), and the floor:
# the same client against the reference server without srpc-check, in a private network.
# Usage: scripts/measure-client.sh [RUNS]     (release build; root or user namespaces)
#        BIN=path/to/srpc-check scripts/measure-client.sh
set -euo pipefail
runs="${1:-5}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cargo build --release -q --manifest-path "$root/Cargo.toml" --workspace
bin="${BIN:-$root/target/release/srpc-check}"
reference="$root/target/release/reference-server"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root/tests/fixtures"

echo "srpc-check client, $runs runs:"
for i in $(seq "$runs"); do
    # Each start of the client leaves a line in runs-$i: how many runs each case took.
    /usr/bin/time -f "%e" -o "$work/time-$i" "$bin" client \
        --exec "echo started >> '$work/runs-$i'; python3 lab_client.py" \
        --format json > "$work/run-$i.json" || true
done
python3 - "$work" "$runs" <<'PY'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
times = sorted(float(open(f"{work}/time-{i}").read().split()[-1]) for i in range(1, runs + 1))
print("  wall:", ", ".join(f"{t:.2f}" for t in times), f"s (median {statistics.median(times):.2f} s)")
docs = [json.load(open(f"{work}/run-{i}.json")) for i in range(1, runs + 1)]
starts = [len(open(f"{work}/runs-{i}").read().split()) for i in range(1, runs + 1)]
cases = len(docs[0]["tests"])
print(f"  client runs: {', '.join(map(str, starts))} for {cases} cases each run")
print("  verdicts:", "; ".join(sorted({f"{d['summary']['passed']} passed" for d in docs})))
for t in docs[0]["tests"]:
    ms = [next(x["duration_ms"] for x in d["tests"] if x["id"] == t["id"]) for d in docs]
    print(f"  {t['id']:30} {statistics.median(ms):6.0f} ms  ({min(ms)}-{max(ms)})")
PY

echo "the same client against the reference server, without srpc-check ($runs runs):"
"$bin" __box -- sh -c "
    '$reference' --host 0.0.0.0 --port 4444 >/dev/null 2>&1 &
    server=\$!
    sleep 0.5
    for i in \$(seq $runs); do /usr/bin/time -f '  %e s' python3 lab_client.py >/dev/null; done
    kill \$server"
