#!/usr/bin/env python3
"""Re-shape NESTFUL v1 tool specifications into ``nestful.tools.jsonl``.

NESTFUL v1 (github.com/IBM/NESTFUL, commit 053cbde0446d) keeps the tool
specifications apart from the samples, in one ``*-spec.json`` file next to each
``*-data.json`` file:

    data/executable/executable-spec.json                  -> nestful/executable
    data/non-executable/non-executable-glaive-spec.json   -> nestful/glaive
    data/non-executable/non-executable-sgd-spec.json      -> nestful/sgd

Each spec is ``{"name", "description", <parameters>, "output_parameters", ...}``
where <parameters> is a flat dict ``{param: {"type"?, "description"?, ...}}``
under ``query_parameters`` and/or ``path_parameters`` (executable),
``query_parameters`` or ``parameters`` (glaive) or ``arguments`` (sgd).

Output: one compact JSON object a line, sorted by name,
``{"name", "description", "parameters": {param: {"type", "description"}}, "source"}``
for every tool named in the DAG file's ``nodes[].tool_name`` that has a spec.
Descriptions and types are copied verbatim; a missing ``type`` or
``description`` is written as ``null``. Other fields (``required``, defaults,
enums, nested ``items``/``properties``, output parameters, endpoints) are
dropped. When a name has several specs the first one (in the order the files
are given) is kept and differing duplicates are counted as conflicts.

Usage:
    python3 nestful_tools.py PATH [PATH ...] --dag nestful.dag.jsonl -o nestful.tools.jsonl

PATH is a NESTFUL checkout (or any directory holding the three spec files,
searched recursively), a ``*-spec.json`` file, or a ``*-data.json`` file (its
sibling ``*-spec.json`` is read). Only the Python 3.11 standard library is used.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SPEC_FILES = {
    "executable-spec.json": "nestful/executable",
    "non-executable-glaive-spec.json": "nestful/glaive",
    "non-executable-sgd-spec.json": "nestful/sgd",
}
# Keys holding the input parameters, in the order they are merged.
PARAM_KEYS = ("path_parameters", "query_parameters", "parameters", "arguments")


def spec_paths(paths: list[str]) -> list[Path]:
    """Resolve the command-line paths to the spec files, in SPEC_FILES order."""
    found: dict[str, Path] = {}
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            candidates = [c for name in SPEC_FILES for c in sorted(p.rglob(name))]
        elif p.name.endswith("-data.json"):
            candidates = [p.with_name(p.name[: -len("-data.json")] + "-spec.json")]
        else:
            candidates = [p]
        for c in candidates:
            if c.name not in SPEC_FILES:
                sys.exit(f"not a NESTFUL v1 spec file: {c}")
            if not c.is_file():
                sys.exit(f"missing spec file: {c}")
            found.setdefault(c.name, c)
    missing = [n for n in SPEC_FILES if n not in found]
    if missing:
        sys.exit(f"spec files not found: {', '.join(missing)}")
    return [found[n] for n in SPEC_FILES]


def reshape(spec: dict, source: str) -> dict:
    params: dict[str, dict] = {}
    for key in PARAM_KEYS:
        for pname, pspec in (spec.get(key) or {}).items():
            if pname in params:
                sys.exit(f"{spec['name']}: parameter {pname!r} given twice")
            params[pname] = {"type": pspec.get("type"), "description": pspec.get("description")}
    return {
        "name": spec["name"],
        "description": spec["description"],
        "parameters": params,
        "source": source,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", help="NESTFUL checkout, spec files or data files")
    ap.add_argument("--dag", required=True, help="nestful.dag.jsonl")
    ap.add_argument("-o", "--output", required=True, help="nestful.tools.jsonl to write")
    args = ap.parse_args()

    tools: dict[str, dict] = {}
    raw_first: dict[str, str] = {}
    entries = duplicates = conflicts = 0
    for path in spec_paths(args.paths):
        source = SPEC_FILES[path.name]
        specs = json.loads(path.read_text(encoding="utf-8"))
        entries += len(specs)
        for spec in specs:
            name = spec["name"]
            raw = json.dumps(spec, sort_keys=True, ensure_ascii=False)
            if name in tools:
                duplicates += 1
                if raw != raw_first[name]:
                    conflicts += 1
                continue
            tools[name] = reshape(spec, source)
            raw_first[name] = raw

    used: set[str] = set()
    with open(args.dag, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                used.update(n["tool_name"] for n in json.loads(line)["nodes"])

    kept = sorted(used & tools.keys())
    missing = sorted(used - tools.keys())
    unused = sorted(tools.keys() - used)
    with open(args.output, "w", encoding="utf-8", newline="\n") as out:
        for name in kept:
            out.write(json.dumps(tools[name], ensure_ascii=False, separators=(",", ":")) + "\n")

    print(f"spec entries: {entries}, distinct tools: {len(tools)}, "
          f"duplicate entries: {duplicates} ({conflicts} differing)", file=sys.stderr)
    print(f"tools in dag: {len(used)}, written: {len(kept)}, without spec: {len(missing)}"
          + (f" ({', '.join(missing)})" if missing else ""), file=sys.stderr)
    print(f"specs not used by the dag: {len(unused)}"
          + (f" ({', '.join(unused)})" if unused else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
