#!/usr/bin/env bash
# Checks the wheels scripts/build-wheels.sh left in DIST (default target/wheels), as users meet
# them. Every wheel (scripts/check-wheels.py): its tags, pip install --platform ... accepting it,
# and for macOS its Mach-O binary (CPU, minimum macOS, libSystem only, an ad hoc code signature
# whose hashes match). The Linux wheel, run here: installed into a fresh virtual environment it
# runs `srpc-check --target builtin`; the binary needs no glibc newer than 2.17; the Gradescope
# setup.sh installs it from a wheel placed beside it; the Classroom workflow's install step
# installs it with pipx. Prints the sizes, the newest glibc symbol and the time from a fresh
# virtual environment to a first result.
# Usage: scripts/check-wheels.sh [DIST]
#   --only-built (after DIST): check what is there, without asking for every platform's wheel
set -euo pipefail
cd "$(dirname "$0")/.."
dist="$(realpath -m "${1:-target/wheels}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "-- tools (pipx, macholib, packaging from PyPI, in a virtual environment of their own)"
python3 -m venv "$work/tools"
"$work/tools/bin/pip" install -q --disable-pip-version-check pipx macholib packaging
export PATH="$work/tools/bin:$PATH"

echo "-- every wheel: tags, pip install --platform, the macOS binaries"
"$work/tools/bin/python" scripts/check-wheels.py "$dist" ${2:+"$2"}

wheel="$(find "$dist" -name 'srpc_check-*manylinux*.whl' | head -n 1)"
if [ -z "$wheel" ]; then
    [ "${2:-}" = --only-built ] && { echo "no Linux wheel to run; checks passed"; exit 0; }
    echo "no Linux wheel in $dist" >&2
    exit 1
fi

echo "-- install into a fresh virtual environment and run"
start=$(date +%s.%N)
python3 -m venv "$work/user"
"$work/user/bin/pip" install -q --disable-pip-version-check "$wheel"
"$work/user/bin/srpc-check" --target builtin > "$work/first.txt"
end=$(date +%s.%N)
tail -n 1 "$work/first.txt"
grep -q '^55 passed, 0 failed' "$work/first.txt" || { cat "$work/first.txt" >&2; exit 1; }

binary="$work/user/bin/srpc-check"
glibc="$(grep -ao 'GLIBC_2\.[0-9]*' "$binary" | sort -u -t. -k2,2n | tail -n 1)"
minor="${glibc#GLIBC_2.}"
echo "wheel $(du -k "$wheel" | cut -f1) KiB, binary $(du -k "$binary" | cut -f1) KiB, newest glibc symbol $glibc"
python3 -c "print('fresh virtual environment to a first result: %.1f s' % ($end - $start))"
if [ "$minor" -gt 17 ]; then
    echo "the binary needs $glibc; the wheel promises glibc 2.17 (manylinux2014)" >&2
    exit 1
fi

echo "-- examples/gradescope/setup.sh with the wheel beside it"
mkdir -p "$work/gradescope"
cp examples/gradescope/setup.sh examples/gradescope/run_autograder "$wheel" "$work/gradescope/"
SRPC_CHECK_PREFIX="$work/gs-venv" SRPC_CHECK_BIN="$work/gs-bin" bash "$work/gradescope/setup.sh"
"$work/gs-bin/srpc-check" --target builtin --only 'grading/*' | tail -n 1

echo "-- examples/classroom/classroom.yml's install step"
install_line="$(grep -A1 'name: Install srpc-check' examples/classroom/classroom.yml | sed -n 's/^ *run: //p')"
[ "$install_line" = 'pipx install "$SRPC_CHECK_SPEC"' ] || { echo "unexpected install step: $install_line" >&2; exit 1; }
PIPX_HOME="$work/pipx" PIPX_BIN_DIR="$work/pipx-bin" SRPC_CHECK_SPEC="$wheel" bash -c "$install_line"
"$work/pipx-bin/srpc-check" --target builtin --only 'grading/*' | tail -n 1
echo "wheel checks passed"
