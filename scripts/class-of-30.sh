# Sourced by the measure-* scripts: the built binary ($bin, or $BIN), a scratch folder ($work,
# removed on exit) and a class of 30 lab_server.py submissions in $work/class (10 good, 4 that
# die when a client leaves, 3 that serve one connection, 3 that hang, 3 that bind 127.0.1.1,
# 2 that leave a daemon, 2 big-endian, one that never listens, one that allocates, one that
# spins), every one on port 4444 ($command). $n is their number.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${BIN:-}" ]; then cargo build --release -q; fi
bin="${BIN:-$PWD/target/release/srpc-check}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
command='python3 lab_server.py --port 4444'
n=0
for spec in none:10 broken-pipe:4 one-shot:3 hang:3 hostname:3 daemon:2 be-error:2 \
            never-listen:1 allocate:1 spin:1; do
    bug="${spec%%:*}"
    for _ in $(seq "${spec##*:}"); do
        n=$((n + 1))
        sub="$work/class/$(printf 's%02d-%s' "$n" "$bug")"
        mkdir -p "$sub"
        cp tests/fixtures/lab_server.py "$sub/"
        printf '{"bug": "%s"}\n' "$bug" > "$sub/srpc.json"
    done
done
