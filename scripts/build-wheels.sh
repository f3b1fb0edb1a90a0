#!/usr/bin/env bash
# Builds every wheel srpc-check ships, into DIST (default target/wheels), on one Linux machine:
#
#   linux         py3-none-manylinux2014_x86_64  maturin, linked by zig against glibc 2.17
#   macos-arm64   py3-none-macosx_11_0_arm64     see below; macOS 11 or newer (Apple silicon)
#   macos-x86_64  py3-none-macosx_10_12_x86_64   see below; macOS 10.12 or newer (Intel)
#
# The macOS binaries: rustup's stable toolchain has no standard library for macOS, so they are
# compiled by Debian's Rust toolchain (rustc-web, cargo-web), which ships the standard
# library's source (rust-web-src) for -Zbuild-std, and linked by LLVM's lld (Debian's lld, the
# one its rust-lld points at), which also signs them ad hoc. The libSystem they link against is
# the link stub zig ships (ziglang from PyPI). Nothing else is linked: the binary depends on
# /usr/lib/libSystem.B.dylib only. When the Debian packages are missing and this runs as root,
# it installs them with apt-get.
#
# Usage: scripts/build-wheels.sh [DIST]
#   WHEELS="linux macos-arm64 macos-x86_64"  which wheels to build (default: all three)
# The release workflow (.github/workflows/release.yml) and CI (.ci/run) both run this script,
# then scripts/check-wheels.sh on what it built.
set -euo pipefail
cd "$(dirname "$0")/.."
dist="$(realpath -m "${1:-target/wheels}")"
wheels="${WHEELS:-linux macos-arm64 macos-x86_64}"
root="$PWD"

echo "-- tools (maturin and ziglang from PyPI, in target/wheel-tools)"
tools="$root/target/wheel-tools"
[ -x "$tools/bin/python" ] || python3 -m venv "$tools"
"$tools/bin/pip" install -q --disable-pip-version-check 'maturin>=1.5,<2' ziglang
export PATH="$tools/bin:$PATH"

rm -rf "$dist"
mkdir -p "$dist"

# Seconds since $1 (from date +%s.%N), one decimal.
took() { python3 -c "import sys; print('%.1f s' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(date +%s.%N)"; }

build_linux() {
    maturin build --release --locked --zig --compatibility manylinux2014 --out "$dist"
}

# Debian's toolchain with the standard library's source, and lld.
debian_toolchain() {
    # The three together, so that their versions match; a rustc-web without rust-lld is one
    # from before Debian shipped it (and too old for this crate), so it is upgraded too.
    if [ ! -x /usr/bin/rustc ] || [ ! -x /usr/bin/cargo ] || [ ! -e /usr/bin/rust-lld ] ||
        [ ! -d /usr/lib/rustlib/src/rust/library ]; then
        install_debian rustc-web cargo-web rust-web-src
    fi
    # rust-lld (from rust-web-llvm) names the lld it runs, e.g. lld-22.
    if ! /usr/bin/rust-lld -flavor darwin --version >/dev/null 2>&1; then
        install_debian "$(readlink /usr/bin/rust-lld)"
    fi
    /usr/bin/rust-lld -flavor darwin --version >/dev/null
}

install_debian() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "the macOS wheels need Debian's packages $*; install them (apt-get install $*)" >&2
        exit 1
    fi
    echo "-- apt-get install $*"
    # Fresh lists first: lists from an older image name an older toolchain, which installs
    # without complaint and then cannot build.
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
}

# A macOS SDK of one file: zig's libSystem link stub (libc and libm are libSystem, as in
# Apple's SDKs). Zig's stub also lists targets of its own naming (arm64e.x1-*), which lld
# does not know; they go.
macos_sdk() {
    local sdk="$root/target/macos-sdk"
    local zig_lib
    zig_lib="$("$tools/bin/python" -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "lib"))')"
    mkdir -p "$sdk/usr/lib"
    "$tools/bin/python" - "$zig_lib/libc/darwin/libSystem.tbd" "$sdk/usr/lib/libSystem.tbd" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r",\s*arm64e\.x1-[a-z]+", "", text)
text = re.sub(r"\[\s*arm64e\.x1-[a-z]+,\s*", "[ ", text)
open(sys.argv[2], "w").write(text)
EOF
    ln -sf libSystem.tbd "$sdk/usr/lib/libc.tbd"
    ln -sf libSystem.tbd "$sdk/usr/lib/libm.tbd"
    # The libc crate asks for -liconv (for functions srpc-check never calls). An empty stub
    # satisfies the request; with -dead_strip_dylibs the binary does not load it, and a symbol
    # that did come from it would fail the link instead.
    cat > "$sdk/usr/lib/libiconv.tbd" <<'EOF'
--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos, arm64-macos, arm64e-macos ]
install-name:    '/usr/lib/libiconv.2.dylib'
current-version: 7
compatibility-version: 7
...
EOF
    echo "$sdk"
}

build_macos() {
    local triple="$1" min="$2"
    debian_toolchain
    local sdk
    sdk="$(macos_sdk)"
    # maturin runs `cargo`: Debian's, with Debian's rustc.
    local bin="$root/target/debian-rust-bin"
    mkdir -p "$bin"
    ln -sf /usr/bin/cargo "$bin/cargo"
    ln -sf /usr/bin/rustc "$bin/rustc"
    local var
    var="$(echo "$triple" | tr 'a-z-' 'A-Z_')"
    env PATH="$bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
        SDKROOT="$sdk" MACOSX_DEPLOYMENT_TARGET="$min" \
        "CARGO_TARGET_${var}_LINKER=/usr/bin/rust-lld" \
        "CARGO_TARGET_${var}_RUSTFLAGS=-Zunstable-options -Clinker-flavor=darwin-lld -Clink-arg=-adhoc_codesign -Clink-arg=-dead_strip_dylibs" \
        CARGO_TARGET_DIR="$root/target/macos" \
        maturin build --release --locked --target "$triple" -Z build-std=std,panic_abort --out "$dist"
}

for wheel in $wheels; do
    echo "-- build: $wheel"
    start=$(date +%s.%N)
    case "$wheel" in
        linux) build_linux ;;
        macos-arm64) build_macos aarch64-apple-darwin 11.0 ;;
        macos-x86_64) build_macos x86_64-apple-darwin 10.12 ;;
        *) echo "unknown wheel '$wheel' (linux, macos-arm64, macos-x86_64)" >&2; exit 2 ;;
    esac
    echo "built $wheel in $(took "$start")"
done
ls -l "$dist"
