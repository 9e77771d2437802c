"""Functional coverage on top of cocotb-coverage: a subscriber base and an end-of-test report."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from cocotb_coverage.coverage import CoverItem, coverage_db
from pyuvm import uvm_subscriber


class CoverageCollector(uvm_subscriber):
    """Subscriber that samples coverpoints; subclasses implement `write(item)`."""


def coverage_rows(prefix: str) -> list[tuple[str, int, int, list[Any]]]:
    """(coverpoint, bins hit, bins defined, bins never hit) for every leaf under `prefix`."""
    rows = []
    for name in sorted(coverage_db, key=str.lower):
        item = coverage_db[name]
        if not name.startswith(prefix) or type(item) is CoverItem:
            continue
        detail = item.detailed_coverage
        if isinstance(detail, dict):
            at_least = getattr(item, "at_least", 1)
            unhit = [b for b, hits in detail.items() if hits < at_least]
            rows.append((name, len(detail) - len(unhit), len(detail), unhit))
        else:
            rows.append((name, item.coverage, item.size, []))
    return rows


def unhit_bins(prefix: str) -> list[str]:
    """Every bin under `prefix` never hit so far in this simulation, as "coverpoint: bin"."""
    return [f"{name}: {b}" for name, _, _, unhit in coverage_rows(prefix) for b in unhit]


def report_coverage(prefix: str, log: logging.Logger, out_dir: str | os.PathLike | None) -> float:
    """Log bins hit per coverpoint and the bins never hit; export YAML for later merging.

    Returns the fraction of bins hit under `prefix` (1.0 when nothing is defined)."""
    rows = coverage_rows(prefix)
    total_hit = sum(r[1] for r in rows)
    total = sum(r[2] for r in rows)
    log.info("functional coverage under '%s': %d of %d bins hit", prefix, total_hit, total)
    for name, hit, size, unhit in rows:
        log.info("  %-48s %4d / %-4d%s", name, hit, size, "" if not unhit else "  missing:")
        if unhit:
            shown = ", ".join(str(b) for b in unhit[:16])
            more = f" ... (+{len(unhit) - 16})" if len(unhit) > 16 else ""
            log.info("      %s%s", shown, more)
    if out_dir is not None and rows:
        path = Path(out_dir) / f"coverage_{prefix.replace('.', '_')}.yml"
        tmp = path.with_suffix(".yml.tmp")
        coverage_db.export_to_yaml(str(tmp))
        os.replace(tmp, path)
        log.info("coverage database written to %s", path)
    return 1.0 if total == 0 else total_hit / total
