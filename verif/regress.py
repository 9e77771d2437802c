"""Regression: every simulation test on each simulator with several seeds, in parallel, then one
summary of results, speed, functional and code coverage, and the verification plan."""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from verif.registry import ROOT, TESTS
from verif.run import SIMS

log = logging.getLogger("neural.regress")
PLAN = Path(__file__).resolve().parent / "plan.yaml"


@dataclass
class Run:
    test: str
    sim: str
    config: str
    seed: int
    dir: Path
    ran: int = 0
    failed: int = 1
    wall_s: float = 0.0
    cycles: int = 0
    sim_wall_s: float = 0.0
    cases: dict[str, bool] = field(default_factory=dict)  # cocotb test class -> passed

    @property
    def passed(self) -> bool:
        return self.ran > 0 and self.failed == 0

    @property
    def rerun(self) -> str:
        return f"make sim TEST={self.test} SIM={self.sim} CONFIG={self.config} SEED={self.seed}"


def make_matrix(tests: list[str], sims: list[str], seeds: list[int], full: bool) -> list[list]:
    return [
        [name, config, sim, seed]
        for name in tests
        for sim in sims
        for config in TESTS[name].configs
        if TESTS[name].in_regression(config, sim)
        and (full or TESTS[name].in_quick_tier(config, sim))
        for seed in seeds[: TESTS[name].seeds_for(config, sim, len(seeds))]
    ]


def load_run(out: Path, name: str, config: str, sim: str, seed: int) -> Run:
    rdir = out / "runs" / name / sim / config / str(seed)
    run = Run(name, sim, config, seed, rdir)
    outcome = rdir / "outcome.json"
    if outcome.is_file():
        data = json.loads(outcome.read_text())
        run.ran, run.failed, run.wall_s = data["ran"], data["failed"], data["wall_s"]
    results = rdir / "results.xml"
    if results.is_file():
        for case in ET.parse(results).getroot().iter("testcase"):
            bad = case.find("failure") is not None or case.find("error") is not None
            cname = case.get("name", "?")
            run.cases[cname] = run.cases.get(cname, True) and not bad
    for stats in rdir.glob("stats_*.json"):
        data = json.loads(stats.read_text())
        run.cycles += int(data["cycles"])
        run.sim_wall_s += float(data["wall_s"])
    return run


# ---------------------------------------------------------------- functional coverage


def merge_functional(runs: list[Run]) -> dict[str, dict[str, dict[str, int]]]:
    """test -> coverpoint -> bin -> hits, summed over every run of the test."""
    merged: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for run in runs:
        for path in run.dir.glob("coverage_*.yml"):
            db = yaml.safe_load(path.read_text()) or {}
            for point, attrs in db.items():
                bins = attrs.get("bins:_hits")
                if bins is None:
                    continue
                target = merged[run.test][point]
                for b, hits in bins.items():
                    target[str(b)] = target.get(str(b), 0) + int(hits)
    return merged


# ---------------------------------------------------------------- code coverage


def parse_verilator_dat(path: Path) -> dict[str, int]:
    """Coverage points of one Verilator coverage.dat: point key -> count."""
    points = {}
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith("C '"):
            continue
        key, _, count = line[3:].rpartition("' ")
        points[key] = int(count)
    return points


def point_fields(key: str) -> dict[str, str]:
    out = {}
    for pair in key.split("\x01"):
        if "\x02" in pair:
            k, v = pair.split("\x02", 1)
            out[k] = v
    return out


def merge_code_coverage(runs: list[Run]) -> dict[str, dict[str, list[int]]]:
    """module -> kind (line/toggle/...) -> [points hit, points total], merged over runs."""
    hit: dict[str, int] = {}
    for run in runs:
        dat = run.dir / "coverage.dat"
        if run.sim == "verilator" and dat.is_file():
            for key, count in parse_verilator_dat(dat).items():
                # A point is identified by its location and kind; configs with other widths
                # add their own toggle points.
                hit[key] = max(hit.get(key, 0), count)
    summary: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for key, count in hit.items():
        f = point_fields(key)
        page = f.get("page", "v_other/?")
        kind, _, module = page.partition("/")
        kind = kind.removeprefix("v_")
        # Verilator names parameterised copies module__<params>; report them as one module.
        module = module.split("__", 1)[0]
        cell = summary[module or "?"][kind]
        cell[1] += 1
        cell[0] += count > 0
    return summary


# ---------------------------------------------------------------- verification plan


def plan_status(runs: list[Run], functional: dict) -> list[dict]:
    plan = yaml.safe_load(PLAN.read_text()) if PLAN.is_file() else []
    case_results: dict[str, list[bool]] = defaultdict(list)
    for run in runs:
        for cname, ok in run.cases.items():
            # A plan entry names a test, a test class, or either with "[config]" appended.
            for key in (f"{run.test}.{cname}", run.test):
                case_results[key].append(ok)
                case_results[f"{key}[{run.config}]"].append(ok)
    all_points = {p: bins for t in functional.values() for p, bins in t.items()}
    rows = []
    for feature in plan:
        for tp in feature["testpoints"]:
            results = [r for t in tp.get("tests", []) for r in case_results.get(t, [])]
            ran_all = all(case_results.get(t) for t in tp.get("tests", []))
            if not tp.get("tests") or not ran_all:
                status = "not tested"
            elif all(results):
                status = "passed"
            else:
                status = "failed"
            hit = total = 0
            for point in tp.get("coverage", []):
                for name, bins in all_points.items():
                    if name == point or name.startswith(point + "."):
                        total += len(bins)
                        hit += sum(1 for h in bins.values() if h > 0)
            rows.append(
                {
                    "feature": feature["feature"],
                    "testpoint": tp["name"],
                    "status": status,
                    "coverage": f"{hit}/{total}" if total else "-",
                }
            )
    return rows


# ---------------------------------------------------------------- report


def table(headers: list[str], rows: list[list]) -> list[str]:
    widths = [max(len(str(x)) for x in [h, *[r[i] for r in rows]]) for i, h in enumerate(headers)]
    fmt = "| " + " | ".join(f"{{:<{w}}}" for w in widths) + " |"
    lines = [fmt.format(*headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt.format(*[str(x) for x in r]) for r in rows]
    return lines


def report(runs: list[Run], out: Path) -> tuple[list[str], int, int]:
    lines = ["# Regression report", ""]
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        groups[(run.test, run.sim)].append(run)
    rows = []
    for (test, sim), rs in sorted(groups.items()):
        cycles = sum(r.cycles for r in rs)
        sim_wall = sum(r.sim_wall_s for r in rs)
        rows.append(
            [
                test,
                sim,
                len({r.config for r in rs}),
                len({r.seed for r in rs}),
                sum(r.passed for r in rs),
                sum(not r.passed for r in rs),
                f"{sum(r.wall_s for r in rs):.1f}",
                f"{cycles / sim_wall:,.0f}" if sim_wall else "-",
            ]
        )
    lines += table(
        ["test", "simulator", "configs", "seeds", "passed", "failed", "wall s", "cycles/s"], rows
    )
    failed = [r for r in runs if not r.passed]
    if failed:
        lines += ["", "## Failing runs", ""]
        lines += [f"- {r.test} [{r.config}] on {r.sim}, seed {r.seed}: `{r.rerun}`" for r in failed]

    functional = merge_functional(runs)
    lines += ["", "## Functional coverage", ""]
    frows, unhit_lines, tot_hit, tot = [], [], 0, 0
    for test, points in sorted(functional.items()):
        t_hit = sum(1 for bins in points.values() for h in bins.values() if h > 0)
        t_tot = sum(len(bins) for bins in points.values())
        tot_hit, tot = tot_hit + t_hit, tot + t_tot
        frows.append([test, t_hit, t_tot, f"{100 * t_hit / max(t_tot, 1):.1f}%"])
        for point, bins in sorted(points.items()):
            missing = [b for b, h in bins.items() if h == 0]
            if missing:
                unhit_lines.append(f"- {point}: {', '.join(missing[:20])}")
    frows.append(["total", tot_hit, tot, f"{100 * tot_hit / max(tot, 1):.1f}%"])
    lines += table(["test", "bins hit", "bins defined", "hit"], frows)
    lines += ["", "Bins never hit:", ""] + (unhit_lines or ["- none"])

    code = merge_code_coverage(runs)
    lines += ["", "## Code coverage (Verilator, merged over all runs)", ""]
    if code:
        kinds = sorted({k for m in code.values() for k in m})
        crows = []
        for module, per_kind in sorted(code.items()):
            row = [module]
            for k in kinds:
                h, t = per_kind.get(k, [0, 0])
                row.append(f"{h}/{t} ({100 * h / t:.1f}%)" if t else "-")
            crows.append(row)
        lines += table(["module", *kinds], crows)
    else:
        lines.append("no Verilator coverage data (run with code coverage on Verilator)")

    lines += ["", "## Verification plan", ""]
    prow = [
        [r["feature"], r["testpoint"], r["status"], r["coverage"]]
        for r in plan_status(runs, functional)
    ]
    lines += table(["feature", "testpoint", "status", "bins hit"], prow)
    n_pass = sum(r.passed for r in runs)
    return lines, n_pass, len(runs) - n_pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=1, help="random seeds per test and config")
    ap.add_argument("--sim", default="both", choices=["both", *SIMS])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--tests", default="", help="comma-separated subset of tests")
    ap.add_argument("--seed", type=int, default=None, help="base seed (default: a fresh one)")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "regress")
    ap.add_argument("--no-code-coverage", action="store_true")
    ap.add_argument(
        "--quick", action="store_true", help="skip configs marked tier: full (the CI run)"
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    tests = [t for t in args.tests.split(",") if t] or list(TESTS)
    unknown = [t for t in tests if t not in TESTS]
    if unknown:
        log.error("unknown tests %s; known: %s", unknown, ", ".join(TESTS))
        return 2
    if args.seeds < 1:
        log.error("--seeds must be at least 1")
        return 2
    base = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(base)
    seeds = [rng.randrange(2**31) for _ in range(args.seeds)]
    sims = list(SIMS) if args.sim == "both" else [args.sim]
    matrix = make_matrix(tests, sims, seeds, full=not args.quick)
    log.info(
        "base seed %d: %d runs (%d tests, %s, seeds %s)",
        base,
        len(matrix),
        len(tests),
        "+".join(sims),
        seeds,
    )

    out = args.out.resolve()  # the cocotb runner wants absolute result paths
    shutil.rmtree(out / "runs", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        REGRESS_MATRIX=json.dumps(matrix),
        REGRESS_DIR=str(out),
        REGRESS_CODE_COVERAGE="0" if args.no_code_coverage else "1",
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(Path(__file__).with_name("regress_cases.py")),
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={out / 'junit.xml'}",
        "-o",
        "junit_family=xunit2",
    ]
    if args.jobs > 1:
        cmd += ["-n", str(args.jobs), "--dist", "loadgroup"]
    subprocess.run(cmd, cwd=ROOT, env=env, check=False)

    runs = [load_run(out, n, c, s, seed) for n, c, s, seed in matrix]
    lines, n_pass, n_fail = report(runs, out)
    text = "\n".join(lines) + "\n"
    tmp = out / "report.md.tmp"
    tmp.write_text(text)
    os.replace(tmp, out / "report.md")
    print(text)
    print(f"report: {out / 'report.md'}; JUnit XML: {out / 'junit.xml'}; base seed {base}")
    print(f"regression: {n_pass} passed, {n_fail} failed")
    return 0 if n_fail == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
