#!/usr/bin/env python3
"""Prints the medians of the last `cargo bench --bench step_overhead` run, per run and per step.

    cargo bench --bench step_overhead && python3 benches/step_overhead/medians.py
"""

import json
import pathlib

STEPS = 100
CRITERION = pathlib.Path(__file__).resolve().parents[2] / "target" / "criterion"
GROUPS = {
    "step_overhead": ["floor", "floor_call_tool", "floor_drive", "workflow"],
    "tokio_current_thread": ["floor", "workflow"],
    "with_subscriber": ["floor", "workflow"],
}


def median_ns(group, bench):
    estimates = CRITERION / group / bench / "new" / "estimates.json"
    return json.loads(estimates.read_text())["median"]["point_estimate"]


def main():
    for group, benches in GROUPS.items():
        floor = median_ns(group, "floor")
        print(f"\n{group} (medians)\n")
        print("| variant | per run | per step | x floor |")
        print("| --- | ---: | ---: | ---: |")
        for bench in benches:
            ns = median_ns(group, bench)
            print(f"| {bench} | {ns / 1000:.2f} µs | {ns / STEPS:.1f} ns | {ns / floor:.1f} |")


if __name__ == "__main__":
    main()
