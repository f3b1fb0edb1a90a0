#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image (Ubuntu, as root).
# Put a Linux x86-64 srpc-check binary next to this script (built with
# `cargo build --release`, from target/release/srpc-check), or set SRPC_CHECK_GIT below to
# build it from a git repository instead.
set -euo pipefail
SRPC_CHECK_GIT="${SRPC_CHECK_GIT:-}"
here="$(cd "$(dirname "$0")" && pwd)"

apt-get update
apt-get install -y --no-install-recommends python3 ca-certificates curl

if [ -x "$here/srpc-check" ]; then
    install -m 0755 "$here/srpc-check" /usr/local/bin/srpc-check
elif [ -n "$SRPC_CHECK_GIT" ]; then
    apt-get install -y --no-install-recommends build-essential git
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    "$HOME/.cargo/bin/cargo" install --locked --git "$SRPC_CHECK_GIT" srpc-check --root /usr/local
else
    echo "setup.sh: put an srpc-check binary next to this script, or set SRPC_CHECK_GIT" >&2
    exit 1
fi
install -m 0755 "$here/run_autograder" /autograder/run_autograder 2>/dev/null || true
srpc-check --version
