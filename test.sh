#!/usr/bin/env bash
# The whole test suite. Installs what the tests need from the system when it is missing
# (Python 3 for the fixture servers, Chromium for the HTML report test), then runs
# `cargo test --workspace`. Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v python3 >/dev/null 2>&1 || need+=(python3)
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    need+=(chromium)
fi
if [ "${#need[@]}" -gt 0 ]; then
    echo "installing ${need[*]} (the tests need them)"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

cargo test --workspace "$@"
