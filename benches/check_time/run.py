#!/usr/bin/env python3
"""`cargo check` time of an N-step `workflow!` against the same DAG written by hand.

Generates a throwaway workspace under `target/check-time/` with three leaf crates per N, each
depending on this repository's `workflow` crate by path:

    a_N  N no-op `#[tool]`s (the baseline)
    b_N  the same tools, plus the N-step layered DAG as one async fn with a `join!` per level
    c_N  the same tools, plus the same DAG as an N-step `workflow!`

and, with `--variants`, two more hand-written DAGs that each copy one trait of the generated
`run` method, to see where its time goes:

    d_N  b, returning every step's output (all of them live until the end, as in `run`)
    e_N  b, generic over the state `S` with one `tK: CallTool<S>` bound per step (as `run` has),
         calling each tool through `CallTool::call`

Step `j` of level `l` calls tool `l * WIDTH + j` on step `j` of level `l - 1` (level 0 on the
input). Dependencies are checked once; then each leaf's `src/lib.rs` is touched and the leaf
re-checked with `CARGO_INCREMENTAL=0`, the leaves taking turns, and the median is reported.

    python3 benches/check_time/run.py                    # N = 100 and 1000, 7 repetitions
    python3 benches/check_time/run.py --steps 100 --reps 3
    python3 benches/check_time/run.py --steps 300 --variants a b c d e
"""

import argparse
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import time

WIDTH = 10
REPO = pathlib.Path(__file__).resolve().parents[2]
ROOT = REPO / "target" / "check-time"
VARIANTS = {
    "a": "tools only",
    "b": "tools + hand-written join!",
    "c": "tools + workflow!",
    "d": "tools + hand-written join!, returning every output",
    "e": "tools + hand-written join!, generic over the state with a `CallTool` bound per step",
}


def tools(n):
    return "".join(
        f"/// No-op tool {i}.\n#[tool]\npub async fn t{i}(x: u64) -> Result<u64, ToolError> {{\n    Ok(x)\n}}\n\n"
        for i in range(n)
    )


def source(level, j):
    return "input" if level == 0 else f"s{level - 1}_{j}"


def hand_written(n, keep_all=False, generic=False):
    levels = n // WIDTH
    if generic:
        bounds = "".join(f"    t{i}: CallTool<S>,\n" for i in range(n))
        head = f"pub async fn dag<S: Sync>(input: u64, state: &S) -> Result<OUT, ToolError>\nwhere\n{bounds}{{"
    else:
        head = "pub async fn dag(input: u64) -> Result<OUT, ToolError> {"
    outputs = [f"s{level}_{j}" for level in range(levels if keep_all else 0, levels) for j in range(WIDTH)]
    if not keep_all:
        outputs = [f"s{levels - 1}_{j}" for j in range(WIDTH)]
    lines = ["/// The DAG as one async fn, a `join!` per level.", head.replace("OUT", f"[u64; {len(outputs)}]")]
    for level in range(levels):
        names = ", ".join(f"s{level}_{j}" for j in range(WIDTH))
        if generic:
            calls = ", ".join(f"CallTool::call(t{level * WIDTH + j} {{ x: {source(level, j)} }}, state)" for j in range(WIDTH))
        else:
            calls = ", ".join(f"t{level * WIDTH + j}({source(level, j)})" for j in range(WIDTH))
        checks = ", ".join(f"s{level}_{j}?" for j in range(WIDTH))
        lines += [f"    let ({names}) = futures::join!({calls});", f"    let ({names}) = ({checks});"]
    lines += [f"    Ok([{', '.join(outputs)}])", "}"]
    return "\n".join(lines) + "\n"


def workflow(n):
    levels = n // WIDTH
    steps = "".join(
        f"        s{level}_{j} = t{level * WIDTH + j}(x: <<{source(level, j)}>>);\n"
        for level in range(levels)
        for j in range(WIDTH)
    )
    return f"workflow! {{\n    /// The DAG as a `workflow!`.\n    pub dag(input: u64) {{\n{steps}    }}\n}}\n"


def lib_rs(variant, n):
    body = {
        "a": "",
        "b": hand_written(n),
        "c": workflow(n),
        "d": hand_written(n, keep_all=True),
        "e": "use workflow::CallTool;\n\n" + hand_written(n, generic=True),
    }[variant]
    return f"//! Check-time fixture `{variant}_{n}`: {VARIANTS[variant]}.\n\nuse workflow::prelude::*;\n\n{tools(n)}{body}"


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def generate(ns, variants):
    members = [f"{v}_{n}" for n in ns for v in variants]
    # Fixtures of earlier runs stay members, so that one can still be checked by hand.
    kept = {d.name for d in ROOT.glob("*_*") if (d / "Cargo.toml").exists()} if ROOT.exists() else set()
    quoted = ", ".join(f'"{m}"' for m in sorted(kept | set(members)))
    write(ROOT / "Cargo.toml", f'[workspace]\nmembers = [{quoted}]\nresolver = "3"\n')
    if not (ROOT / "Cargo.lock").exists():
        # The repository's lock file, so that the fixtures build the same dependency versions.
        shutil.copy(REPO / "Cargo.lock", ROOT / "Cargo.lock")
    for n in ns:
        for v in variants:
            crate = ROOT / f"{v}_{n}"
            write(
                crate / "Cargo.toml",
                f'[package]\nname = "{v}_{n}"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n'
                f'[dependencies]\nworkflow = {{ path = "{REPO}" }}\nfutures = "0.3"\n',
            )
            write(crate / "src" / "lib.rs", lib_rs(v, n))
    return members


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cargo_check(args):
    """Wall-clock and CPU (user + system) seconds of `cargo check`, and its log."""
    env = dict(os.environ, CARGO_INCREMENTAL="0")
    wall, cpu = time.perf_counter(), cpu_seconds()
    done = subprocess.run(["cargo", "check", "--offline", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    if done.returncode != 0:
        raise SystemExit(f"cargo check {' '.join(args)} failed:\n{done.stderr}")
    return (wall, cpu), done.stderr


def time_leaf(member):
    """Wall-clock and CPU seconds to re-check `member` alone; measured again when a dependency had
    to be re-checked too (the repository changed under us)."""
    for _ in range(5):
        (ROOT / member / "src" / "lib.rs").touch()
        elapsed, log = cargo_check(["-p", member])
        checked = [line.split()[1] for line in log.splitlines() if line.strip().startswith(("Checking", "Compiling"))]
        if checked == [member]:
            return elapsed
        print(f"  {member}: cargo also checked {checked[:-1]}; measuring again", flush=True)
    raise SystemExit(f"the dependencies of `{member}` keep changing; try again later")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 1000], help="values of N")
    parser.add_argument("--reps", type=int, default=7, help="repetitions per leaf")
    parser.add_argument("--variants", nargs="+", default=["a", "b", "c"], choices=sorted(VARIANTS))
    args = parser.parse_args()
    if any(n % WIDTH for n in args.steps):
        raise SystemExit(f"N must be a multiple of {WIDTH}")
    variants = ["a"] + [v for v in args.variants if v != "a"]
    members = generate(args.steps, variants)
    print("checking dependencies and fixtures once ...", flush=True)
    cargo_check([arg for m in members for arg in ("-p", m)])
    times = {m: [] for m in members}
    for rep in range(args.reps):
        for member in members:
            times[member].append(time_leaf(member))
        done = ", ".join(f"{m} {times[m][-1][0]:.2f}s" for m in members)
        print(f"repetition {rep + 1}/{args.reps} (wall): {done}", flush=True)
    print()
    for v in variants:
        print(f"{v}: {VARIANTS[v]}")
    for index, clock in enumerate(["wall-clock", "CPU (user + system)"]):
        print(f"\n{clock} seconds, medians of {args.reps} runs:\n")
        table({m: [t[index] for t in ts] for m, ts in times.items()}, args.steps, variants)
    print("\nevery run (wall, CPU):")
    for m, ts in times.items():
        print(f"  {m}: {', '.join(f'({w:.2f}, {c:.2f})' for w, c in ts)}")


def table(times, steps, variants):
    added = [v for v in variants if v != "a"]
    ratio = "b" in added and "c" in added
    header = [f"{v}" for v in variants] + [f"{v} - a" for v in added] + ["(c - a) / (b - a)"] * ratio
    print("| N | " + " | ".join(header) + " |")
    print("| ---: " * (1 + len(header)) + "|")
    for n in steps:
        med = {v: statistics.median(times[f"{v}_{n}"]) for v in variants}
        cells = [f"{med[v]:.2f}" for v in variants] + [f"{med[v] - med['a']:.2f}" for v in added]
        if ratio:
            cells.append(f"{(med['c'] - med['a']) / (med['b'] - med['a']):.2f}")
        print(f"| {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
