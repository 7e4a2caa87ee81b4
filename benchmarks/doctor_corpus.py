"""Precision and recall of ``samerun doctor`` per rule, on real files labelled by hand.

Usage (from the repository root)::

    .venv/bin/python benchmarks/doctor_corpus.py CORPUS [--labels benchmarks/doctor_corpus.toml]

CORPUS holds each repository named in the labels file under ``CORPUS/<owner>/<name>/``, checked
out at the commit given there (the third-party files are never committed here). Each repository
is analysed on its own, as ``samerun doctor`` would analyse it, over exactly the files listed.
A finding on a line labelled ``hazard = true`` is a true positive; on a line labelled ``hazard =
false``, or on no labelled line, a false positive; a ``hazard = true`` line without a finding is a
false negative. Two findings of one rule on one line count once.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import tomllib

from samerun.doctor.analyze import analyze


@dataclass(frozen=True)
class Label:
    repo: str
    path: str
    line: int
    rule: str
    hazard: bool
    reason: str


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="directory holding <owner>/<name>/ checkouts")
    parser.add_argument(
        "--labels", type=Path, default=Path(__file__).with_name("doctor_corpus.toml")
    )
    args = parser.parse_args()
    spec = tomllib.loads(args.labels.read_text())
    labels = {
        (lab["repo"], lab["path"], lab["line"], lab["rule"]): Label(**lab) for lab in spec["label"]
    }
    found: set[tuple[str, str, int, str]] = set()
    files = 0
    started = time.perf_counter()
    for repository in spec["repository"]:
        root = args.corpus / repository["name"]
        paths = [root / p for p in repository["files"]]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            print(
                f"{missing[0]} is missing: check out {repository['name']} at "
                f"{repository['commit']} under {args.corpus}",
                file=sys.stderr,
            )
            return 2
        analysis = analyze(root, paths)
        files += analysis.files
        found |= {(repository["name"], f.path, f.line, f.rule) for f in analysis.findings}
    seconds = time.perf_counter() - started
    tp, fp, fn = Counter[str](), Counter[str](), Counter[str]()
    for key in sorted(found):
        label = labels.get(key)
        if label is not None and label.hazard:
            tp[key[3]] += 1
        else:
            fp[key[3]] += 1
            why = label.reason if label is not None else "not labelled"
            print(f"false positive  {key[3]} {key[0]}/{key[1]}:{key[2]}: {why}")
    for key, label in labels.items():
        if label.hazard and key not in found:
            fn[key[3]] += 1
            print(f"false negative  {key[3]} {key[0]}/{key[1]}:{key[2]}: {label.reason}")
    print(f"\n{files} files, {len(spec['repository'])} repositories, analysed in {seconds:.1f} s\n")
    print(
        f"{'rule':9} {'labelled':>8} {'found':>6} {'TP':>4} {'FP':>4} {'FN':>4} "
        f"{'precision':>9} {'recall':>7}"
    )
    rules = sorted({k[3] for k in found} | {k[3] for k, lab in labels.items() if lab.hazard})
    for rule in [*rules, "all"]:
        t, f, n = (
            (sum(c.values()) for c in (tp, fp, fn))
            if rule == "all"
            else (tp[rule], fp[rule], fn[rule])
        )
        precision = f"{t / (t + f):.0%}" if t + f else "-"
        recall = f"{t / (t + n):.0%}" if t + n else "-"
        print(f"{rule:9} {t + n:>8} {t + f:>6} {t:>4} {f:>4} {n:>4} {precision:>9} {recall:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
