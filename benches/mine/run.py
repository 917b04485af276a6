#!/usr/bin/env python3
"""Pattern mining on a synthetic 1,000,000-event log, against its anchors, in one run.

Writes the log (fixed seed) with `workflow-mine`'s generator, then measures wall time and peak
RSS (each command a child process, its own rusage from wait4) of:

  floor       a plain Rust n-gram counter: a HashMap of tool windows (examples/mine_bench.rs)
  contiguous  `workflow mine LOG --min-support N --max-len 5` (closed patterns, data flow)
  gapped      the same with `--gaps` (subsequences, closed patterns only)
  counter     Python `collections.Counter` of the n-grams
  prefixspan  the Python `prefixspan` package, closed patterns, same minimum support and length

Targets: contiguous within 2x the floor and under 200 MB; gapped at least 20x faster than
prefixspan. Run from the repository root:

  python3 benches/mine/run.py [--events 1000000] [--seed 42] [--runs 3] [--skip-prefixspan]

prefixspan is installed with pip into a venv under target/bench/venv the first time.
"""

import argparse
import collections
import json
import math
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "target", "bench")
RELEASE = os.path.join(ROOT, "target", "release")


def sessions_of(path):
    """Each session's tools, in seq order."""
    calls = collections.defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for line in f:
            e = json.loads(line)
            calls[e["session_id"]].append((e["seq"], e["tool_name"]))
    return [[t for _, t in sorted(c)] for c in calls.values()]


def counter(path, max_len):
    counts = collections.Counter()
    for tools in sessions_of(path):
        for n in range(2, max_len + 1):
            counts.update(tuple(tools[i:i + n]) for i in range(len(tools) - n + 1))
    print(json.dumps({"ngrams": len(counts), "most": max(counts.values(), default=0)}))


def prefixspan(path, min_support, max_len):
    from prefixspan import PrefixSpan

    ids = {}
    db = [[ids.setdefault(t, len(ids)) for t in tools] for tools in sessions_of(path)]
    ps = PrefixSpan(db)
    ps.minlen, ps.maxlen = 2, max_len
    found = ps.frequent(min_support, closed=True)
    print(json.dumps({"patterns": len(found), "best": max((s for s, _ in found), default=0)}))


def measure(cmd, stdout=subprocess.DEVNULL):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}")
    return wall, usage.ru_maxrss / 1024.0  # MiB (ru_maxrss is in KiB on Linux)


def venv_python():
    venv = os.path.join(OUT, "venv")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([python, "-m", "pip", "install", "--quiet", "prefixspan==0.5.2"])
    return python


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--runs", type=int, default=3, help="runs of each fast command (prefixspan runs once)")
    p.add_argument("--min-support", type=float, default=1.0, help="percent of the sessions")
    p.add_argument("--max-len", type=int, default=5)
    p.add_argument("--skip-prefixspan", action="store_true")
    sub = p.add_subparsers(dest="mode")
    c = sub.add_parser("counter")
    c.add_argument("log")
    c.add_argument("max_len", type=int)
    s = sub.add_parser("prefixspan")
    s.add_argument("log")
    s.add_argument("min_support", type=int)
    s.add_argument("max_len", type=int)
    args = p.parse_args()
    if args.mode == "counter":
        return counter(args.log, args.max_len)
    if args.mode == "prefixspan":
        return prefixspan(args.log, args.min_support, args.max_len)

    os.makedirs(OUT, exist_ok=True)
    subprocess.check_call(["cargo", "build", "--release", "-j", "1", "-p", "workflow-cli", "-p", "workflow-mine",
                           "--example", "mine_bench", "--bin", "workflow"], cwd=ROOT)
    log = os.path.join(OUT, f"mine-{args.events}-{args.seed}.jsonl")
    info = os.path.join(log + ".json")
    if not os.path.exists(info):
        text = subprocess.check_output([os.path.join(RELEASE, "examples", "mine_bench"), "gen", log,
                                        str(args.events), str(args.seed)])
        with open(info, "wb") as f:
            f.write(text)
    with open(info) as f:
        made = json.load(f)
    min_support = math.ceil(args.min_support / 100.0 * made["sessions"])
    print(f"log: {made['events']} events, {made['sessions']} sessions, {os.path.getsize(log) / 2**20:.0f} MiB;"
          f" min support {min_support} sessions ({args.min_support:g} %), max length {args.max_len}")

    workflow = os.path.join(RELEASE, "workflow")
    mine = [workflow, "mine", log, "--min-support", str(min_support), "--max-len", str(args.max_len),
            "--top", "10", "--format", "json"]
    commands = {
        "floor": [os.path.join(RELEASE, "examples", "mine_bench"), "floor", log, str(args.max_len)],
        "contiguous": mine,
        "gapped": mine + ["--gaps"],
        "counter": [sys.executable, os.path.abspath(__file__), "counter", log, str(args.max_len)],
    }
    results = {}
    for name, cmd in commands.items():
        runs = [measure(cmd) for _ in range(args.runs)]
        results[name] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), runs)
    if not args.skip_prefixspan:
        cmd = [venv_python(), os.path.abspath(__file__), "prefixspan", log, str(min_support), str(args.max_len)]
        run = measure(cmd)
        results["prefixspan"] = (run[0], run[1], [run])

    print(f"{'':12} {'median s':>9} {'peak MiB':>9}  runs")
    for name, (wall, rss, runs) in results.items():
        print(f"{name:12} {wall:9.2f} {rss:9.1f}  " + ", ".join(f"{w:.2f}s" for w, _ in runs))
    floor = results["floor"][0]
    print(f"contiguous / floor: {results['contiguous'][0] / floor:.2f}x time (target <= 2), "
          f"{results['contiguous'][1]:.0f} MiB (target < 200)")
    print(f"counter / contiguous: {results['counter'][0] / results['contiguous'][0]:.1f}x")
    if "prefixspan" in results:
        print(f"prefixspan / gapped: {results['prefixspan'][0] / results['gapped'][0]:.1f}x (target >= 20)")
    with open(os.path.join(OUT, "mine-results.json"), "w") as f:
        json.dump({k: {"median_s": v[0], "peak_mib": v[1]} for k, v in results.items()}, f, indent=1)


if __name__ == "__main__":
    main()
