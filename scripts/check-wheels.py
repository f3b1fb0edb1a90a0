"""Checks each wheel scripts/build-wheels.sh built, as far as this Linux machine can.

For every wheel in DIST:
- the file name's tags are the ones srpc-check ships (exactly one wheel per platform) and the
  wheel's own WHEEL file says the same;
- `pip install --platform TAG --only-binary :all: --target DIR` accepts it and puts the
  `srpc-check` command in DIR/bin.
For each macOS wheel, the Mach-O binary inside it (read with macholib):
- it is an executable for the wheel's CPU (arm64 or x86-64), one architecture;
- its minimum macOS is the wheel's (LC_BUILD_VERSION or LC_VERSION_MIN_MACOSX);
- it loads /usr/lib/libSystem.B.dylib and no other library;
- it carries a code signature (LC_CODE_SIGNATURE) whose CodeDirectory is ad hoc and whose
  page hashes match the file: the signature macOS checks before it runs the binary.
The Linux wheel's binary is checked by running it (scripts/check-wheels.sh).

Usage: python check-wheels.py DIST   (with macholib and packaging installed)
"""

import hashlib
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from macholib import mach_o
from macholib.MachO import MachO
from packaging.utils import parse_wheel_filename

# platform tag -> (Mach-O CPU name, minimum macOS); None for Linux.
SHIPPED = {
    "manylinux2014_x86_64": None,
    "macosx_11_0_arm64": ("ARM64", (11, 0)),
    "macosx_10_12_x86_64": ("x86_64", (10, 12)),
}

LIBSYSTEM = "/usr/lib/libSystem.B.dylib"
CSMAGIC_EMBEDDED_SIGNATURE = 0xFADE0CC0
CSMAGIC_CODEDIRECTORY = 0xFADE0C02
CS_ADHOC = 0x2
CS_HASHTYPE_SHA256 = 2


def fail(wheel, why):
    sys.exit(f"{wheel.name}: {why}")


def version(packed):
    """Mach-O's xxxx.yy.zz nibbles as (major, minor)."""
    return (packed >> 16, (packed >> 8) & 0xFF)


def check_signature(wheel, data, header, cmd):
    """The embedded signature: an ad hoc CodeDirectory whose page hashes match the file."""
    blob = data[cmd.dataoff : cmd.dataoff + cmd.datasize]
    magic, _length, count = struct.unpack_from(">III", blob, 0)
    if magic != CSMAGIC_EMBEDDED_SIGNATURE:
        fail(wheel, f"the code signature is not a signature blob (magic {magic:#x})")
    for i in range(count):
        _slot, offset = struct.unpack_from(">II", blob, 12 + 8 * i)
        if struct.unpack_from(">I", blob, offset)[0] != CSMAGIC_CODEDIRECTORY:
            continue
        (_m, _l, _v, flags, hash_offset, _ident, _special, code_slots, code_limit, hash_size,
         hash_type, _platform, page_log) = struct.unpack_from(">IIIIIIIIIBBBB", blob, offset)
        if not flags & CS_ADHOC:
            fail(wheel, f"the CodeDirectory is not ad hoc (flags {flags:#x})")
        if hash_type != CS_HASHTYPE_SHA256 or hash_size != 32:
            fail(wheel, f"the CodeDirectory hashes with type {hash_type}, not SHA-256")
        if code_limit != cmd.dataoff:
            fail(wheel, f"the signature covers {code_limit} bytes, not the {cmd.dataoff} before it")
        page = 1 << page_log
        for slot in range(code_slots):
            want = blob[offset + hash_offset + 32 * slot : offset + hash_offset + 32 * (slot + 1)]
            chunk = data[slot * page : min((slot + 1) * page, code_limit)]
            if hashlib.sha256(chunk).digest() != want:
                fail(wheel, f"page {slot} does not match its hash in the code signature")
        return code_slots
    fail(wheel, "the code signature holds no CodeDirectory")


def check_macho(wheel, binary, cpu, minimum):
    data = binary.read_bytes()
    macho = MachO(str(binary))
    if len(macho.headers) != 1:
        fail(wheel, f"{len(macho.headers)} architectures in one binary")
    header = macho.headers[0]
    got_cpu = mach_o.CPU_TYPE_NAMES.get(header.header.cputype, header.header.cputype)
    if got_cpu != cpu:
        fail(wheel, f"the binary is for {got_cpu}, not {cpu}")
    if header.header.filetype != mach_o.MH_EXECUTE:
        fail(wheel, f"the binary is not an executable (file type {header.header.filetype})")
    libraries, minos, signature = [], None, None
    for load, cmd, extra in header.commands:
        name = mach_o.LC_NAMES.get(load.cmd, load.cmd)
        if name in ("LC_LOAD_DYLIB", "LC_LOAD_WEAK_DYLIB", "LC_REEXPORT_DYLIB", "LC_LAZY_LOAD_DYLIB"):
            libraries.append(extra.rstrip(b"\0").decode())
        elif name == "LC_BUILD_VERSION":
            minos = version(cmd.minos)
        elif name == "LC_VERSION_MIN_MACOSX":
            minos = version(cmd.version)
        elif name == "LC_CODE_SIGNATURE":
            signature = cmd
    if libraries != [LIBSYSTEM]:
        fail(wheel, f"the binary loads {libraries}, not {LIBSYSTEM} alone")
    if minos != minimum:
        fail(wheel, f"the binary's minimum macOS is {minos}, not {minimum}")
    if signature is None:
        fail(wheel, "the binary has no code signature")
    pages = check_signature(wheel, data, header, signature)
    print(f"  Mach-O {cpu}, macOS {minimum[0]}.{minimum[1]} or newer, loads {LIBSYSTEM} only, "
          f"ad hoc signature over {pages} pages")


def check(wheel):
    _name, _version, _build, tags = parse_wheel_filename(wheel.name)
    platforms = {t.platform for t in tags}
    shipped = platforms & SHIPPED.keys()
    if len(shipped) != 1 or {t.interpreter for t in tags} != {"py3"} or {t.abi for t in tags} != {"none"}:
        fail(wheel, f"tags {sorted(map(str, tags))} are none of {sorted(SHIPPED)}")
    platform = shipped.pop()
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/WHEEL"))
        said = {line.split(":", 1)[1].strip() for line in z.read(meta).decode().splitlines()
                if line.startswith("Tag:")}
        if said != {str(t) for t in tags}:
            fail(wheel, f"its WHEEL file says {sorted(said)}, its name {sorted(map(str, tags))}")
        scripts = [n for n in z.namelist() if n.endswith(".data/scripts/srpc-check")]
        if len(scripts) != 1:
            fail(wheel, "it does not hold the srpc-check binary")
        with tempfile.TemporaryDirectory() as scratch:
            binary = Path(z.extract(scripts[0], scratch))
            if SHIPPED[platform] is not None:
                check_macho(wheel, binary, *SHIPPED[platform])
    with tempfile.TemporaryDirectory() as target:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "--no-deps", "--platform", platform, "--only-binary", ":all:",
             "--target", target, str(wheel)],
            check=True,
        )
        if not (Path(target) / "bin" / "srpc-check").is_file():
            fail(wheel, f"pip install --platform {platform} put no bin/srpc-check in --target")
    print(f"  pip install --platform {platform} --only-binary :all: --target DIR accepts it")
    return platform


def main():
    dist = Path(sys.argv[1])
    seen = {}
    for wheel in sorted(dist.glob("*.whl")):
        print(f"{wheel.name} ({wheel.stat().st_size // 1024} KiB)")
        platform = check(wheel)
        if platform in seen:
            fail(wheel, f"a second wheel for {platform}, beside {seen[platform].name}")
        seen[platform] = wheel
    missing = sorted(SHIPPED.keys() - seen.keys())
    if missing and "--only-built" not in sys.argv:
        sys.exit(f"no wheel for {', '.join(missing)} in {dist}")
    print(f"{len(seen)} wheels checked")


if __name__ == "__main__":
    main()
