#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image (Ubuntu, as root).
# It installs srpc-check with pip, into a virtual environment of its own: from a wheel placed
# next to this script (srpc_check-*.whl), or else from PyPI (set SRPC_CHECK_VERSION to pin one).
# The wheel carries a prebuilt binary for glibc 2.17 and later: no Rust, no compiling.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prefix="${SRPC_CHECK_PREFIX:-/opt/srpc-check}"   # the virtual environment
bindir="${SRPC_CHECK_BIN:-/usr/local/bin}"       # where the command is linked

# Python runs the students' servers, and pip installs srpc-check.
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    apt-get update
    apt-get install -y --no-install-recommends python3 python3-venv ca-certificates
fi
python3 -m venv "$prefix"
wheel="$(find "$here" -maxdepth 1 -name 'srpc_check-*.whl' | sort | tail -n 1)"
if [ -n "$wheel" ]; then
    "$prefix/bin/pip" install --no-cache-dir --disable-pip-version-check "$wheel"
else
    "$prefix/bin/pip" install --no-cache-dir --disable-pip-version-check \
        "srpc-check${SRPC_CHECK_VERSION:+==$SRPC_CHECK_VERSION}"
fi
mkdir -p "$bindir"
ln -sf "$prefix/bin/srpc-check" "$bindir/srpc-check"
if [ -d /autograder ]; then
    install -m 0755 "$here/run_autograder" /autograder/run_autograder
fi
"$bindir/srpc-check" --version
