#!/usr/bin/env python3
"""Measures what verdicts by observation changed: wall time of full --exec runs, and whether
verdicts stay the same under load.

  scripts/measure-observe.py times --old OLD --new NEW [--runs 3] [--lab lab.py]
      Full `--exec` runs of each fixture, old and new binary alternated, run after run; prints
      a Markdown table of medians. --lab adds a server of your own (a Python file that serves
      on port 4444 when run), such as the lab's handout server.

  scripts/measure-observe.py verdicts --new NEW [--runs 10]
      Every fixture server, --runs times on an idle machine and --runs times beside two CPU
      burners and a loop of srpc-check runs (loopback traffic); prints each case whose verdict
      (status and finding) was not the same in every run.

  scripts/measure-observe.py portable --new NEW
      Every fixture server and lab client once in Linux's own mode and once in the portable
      mode (SRPC_CHECK_PORTABLE=1, what macOS gets); prints a Markdown table of wall times and
      whether each run's verdicts (status and finding per case) were the same in both.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures")
STUDENT = f"python3 {FIX}/student_server.py"
LAB = f"python3 {FIX}/lab_server.py"

# The fixtures the README's table names, in its order.
TIMED = [
    ("correct, thread per connection", STUDENT),
    ("correct, sequential (settimeout 5)", LAB),
    ("single recv()", f"{STUDENT} --bug single-recv"),
    ("exits after one connection", f"{LAB} --bug one-shot"),
    ("sequential, no timeout", f"{STUDENT} --bug sequential"),
    ("reads the header big-endian", f"{LAB} --bug hang"),
    ("crashes on an empty connection", f"{STUDENT} --bug crash-empty"),
]

STUDENT_BUGS = [
    "none", "single-recv", "recv-4096", "no-persist", "missing-error", "str-value",
    "double-encode", "big-endian", "no-header", "char-length", "length-plus-one", "no-close",
    "status-case", "merge", "sequential", "crash-unknown", "crash-empty", "big-endian-read",
]
LAB_VARIANTS = ["", "--bug broken-pipe", "--bug one-shot", "--bug hang", "--bug be-error",
                "--timeout 1", "--timeout 0"]
ALL = [f"{STUDENT} --bug {b}" for b in STUDENT_BUGS] + [f"{LAB} {v}".strip() for v in LAB_VARIANTS]


def run(binary, command, fmt="human"):
    """One full run; the seed is fixed, so random splits are the same in every run."""
    start = time.monotonic()
    out = subprocess.run([binary, "--exec", command, "--format", fmt, "--seed", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=600)
    return time.monotonic() - start, out.stdout


def times(args):
    fixtures = list(TIMED)
    if args.lab:
        fixtures.insert(2, ("the lab's own server", f"python3 {os.path.abspath(args.lab)}"))
    spent = {name: {"old": [], "new": []} for name, _ in fixtures}
    for n in range(args.runs):
        for name, command in fixtures:
            order = ["old", "new"] if n % 2 == 0 else ["new", "old"]
            for which in order:
                wall, _ = run(getattr(args, which), command)
                spent[name][which].append(wall)
        print(f"run {n + 1} of {args.runs} done", file=sys.stderr)
    print(f"| fixture (`--exec`) | old, median of {args.runs} | new, median of {args.runs} |")
    print("|---|---:|---:|")
    total = {"old": 0.0, "new": 0.0}
    for name, _ in fixtures:
        row = []
        for which in ["old", "new"]:
            m = statistics.median(spent[name][which])
            total[which] += m
            row.append(f"{m:.2f} s")
        print(f"| {name} | {row[0]} | {row[1]} |")
    print(f"| total | {total['old']:.2f} s | {total['new']:.2f} s "
          f"({100 * total['new'] / total['old']:.0f} %) |")


def verdicts_of(binary, command):
    _, out = run(binary, command, "json")
    report = json.loads(out)
    return {t["id"]: (t["status"], t.get("finding") or "") for t in report["tests"]}, report


def verdicts(args):
    seen = {}  # (command, case) -> set of verdicts
    expired = {"idle": 0, "loaded": 0}

    def sweep(label):
        for command in ALL:
            for _ in range(args.runs):
                result, report = verdicts_of(args.new, command)
                expired[label] += report.get("timeouts_expired", 0)
                for case, verdict in result.items():
                    seen.setdefault((command, case), set()).add(verdict)
            print(f"{label}: {command}", file=sys.stderr)

    sweep("idle")
    stop = threading.Event()
    burners = [subprocess.Popen(["python3", "-c", "while True: pass"]) for _ in range(2)]

    def traffic():
        while not stop.is_set():
            subprocess.run([args.new, "--only", "fragment/*"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

    loop = threading.Thread(target=traffic)
    loop.start()
    try:
        sweep("loaded")
    finally:
        stop.set()
        for b in burners:
            b.kill()
            b.wait()
        loop.join()
    differ = {k: v for k, v in seen.items() if len(v) > 1}
    runs = len(ALL) * args.runs
    print(f"{len(ALL)} fixtures, {args.runs} idle and {args.runs} loaded runs each "
          f"({2 * runs} runs, {len(seen)} fixture-case pairs)")
    print(f"timeouts that expired: {expired['idle']} idle, {expired['loaded']} loaded")
    print(f"fixture-case pairs whose verdict differed between runs: {len(differ)}")
    for (command, case), v in sorted(differ.items()):
        print(f"  {command.replace(FIX + '/', '')}  {case}: {sorted(v)}")


CLIENT_BUGS = ["none", "header-single-recv", "payload-single-recv", "recv-4096", "never-closes",
               "non-ascii-crash", "hang-on-close", "prints-response", "request-big-endian",
               "timeout-1s"]


def portable(args):
    def once(argv, portable_mode):
        env = dict(os.environ, SRPC_CHECK_PORTABLE="1" if portable_mode else "0")
        start = time.monotonic()
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=900, env=env, cwd=FIX)
        report = json.loads(out.stdout)
        verdict = {t["id"]: (t["status"], t.get("finding") or "") for t in report["tests"]}
        return time.monotonic() - start, verdict

    runs = [(c.replace(FIX + "/", ""), [args.new, "--exec", c, "--format", "json", "--seed", "1"])
            for c in ALL]
    runs += [(f"lab_client.py --bug {b}",
              [args.new, "__box", "--", args.new, "client", "--exec",
               f"python3 lab_client.py --bug {b}", "--format", "json"]) for b in CLIENT_BUGS]
    print("| fixture | Linux | portable | same verdicts |")
    print("|---|---:|---:|---|")
    total = [0.0, 0.0]
    same_count = 0
    for name, argv in runs:
        (k, kv), (p, pv) = once(argv, False), once(argv, True)
        total[0] += k
        total[1] += p
        same = kv == pv
        same_count += same
        print(f"| `{name}` | {k:.1f} s | {p:.1f} s | {'yes' if same else 'NO'} |", flush=True)
    print(f"| total ({len(runs)} runs) | {total[0]:.1f} s | {total[1]:.1f} s | "
          f"{same_count} of {len(runs)} |")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    t = sub.add_parser("times")
    t.add_argument("--old", required=True)
    t.add_argument("--new", required=True)
    t.add_argument("--runs", type=int, default=3)
    t.add_argument("--lab")
    v = sub.add_parser("verdicts")
    v.add_argument("--new", required=True)
    v.add_argument("--runs", type=int, default=10)
    o = sub.add_parser("portable")
    o.add_argument("--new", required=True)
    args = p.parse_args()
    {"times": times, "verdicts": verdicts, "portable": portable}[args.what](args)


if __name__ == "__main__":
    main()
