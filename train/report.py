"""Print a markdown table of the stages in ``runs/`` (final test accuracy, epochs, s/epoch).

``python -m train.report [--runs runs]``. Numbers come from the per-stage CSV files; the accuracy
is the last epoch's, not the best one.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

STAGES = ("teacher", "student_nokd", "student_kd", "qat_kd", "qat_nokd")


def summarise(csv_path: Path) -> dict | None:
    """Last-epoch test accuracy, epoch count and median seconds per epoch of one stage."""
    if not csv_path.is_file():
        return None
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    secs = sorted(float(r["seconds"]) for r in rows)
    return {
        "acc": float(rows[-1]["test_acc"]),
        "epochs": int(rows[-1]["epoch"]),
        "sec": secs[len(secs) // 2],
    }


def table(runs: Path) -> str:
    """Markdown table, one row per run folder and stage."""
    lines = [
        "| run | stage | epochs | test acc % (last epoch) | s/epoch (median) |",
        "|---|---|---|---|---|",
    ]
    for run in sorted(p for p in runs.iterdir() if p.is_dir()):
        for st in STAGES:
            s = summarise(run / f"{st}.csv")
            if s:
                lines.append(
                    f"| {run.name} | {st} | {s['epochs']} | {s['acc']:.2f} | {s['sec']:.0f} |"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    p = argparse.ArgumentParser(prog="python -m train.report", description=__doc__.split("\n")[0])
    p.add_argument("--runs", default="runs")
    a = p.parse_args(argv)
    print(table(Path(a.runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
