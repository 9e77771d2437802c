"""Build and run one simulation test (all or one of its parameter sets) on Icarus or Verilator."""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
from pathlib import Path

from cocotb_tools.runner import get_results, get_runner

from verif.registry import ROOT, TESTS, TESTS_DIR, SimTest

log = logging.getLogger("neural.run")
SIMS = ("verilator", "icarus")
WAVE_WINDOW = Path(__file__).resolve().parent / "hdl" / "wave_window.sv"


def build_dir(test: SimTest, sim: str, config: str, code_coverage: bool = False) -> Path:
    return ROOT / "build" / ("sim-cov" if code_coverage else "sim") / sim / test.name / config


def run_one(
    test: SimTest,
    sim: str,
    config: str,
    seed: int,
    waves: bool = False,
    testcase: str | None = None,
    extra: dict | None = None,
    run_dir: Path | None = None,
    code_coverage: bool = False,
    wave_window: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """Build (if needed) and run one configuration; returns (tests run, tests failed).

    The model is built once per (simulator, test, config) under build/; `run_dir` (default: the
    build directory) receives the results, statistics and coverage of this run, so several seeds
    can run from one build. `code_coverage` builds Verilator with line and toggle coverage.
    `wave_window` (Icarus) dumps window.fst for just that span of simulated nanoseconds."""
    if sim not in SIMS:
        raise SystemExit(f"unknown simulator {sim!r}; choose one of {', '.join(SIMS)}")
    params = test.configs.get(config)
    if params is None:
        raise SystemExit(
            f"{test.name} has no config {config!r}; choose one of {', '.join(test.configs)}"
        )
    if wave_window and sim != "icarus":
        raise SystemExit("a wave window needs SIM=icarus (use WAVES=1 for a full Verilator dump)")
    bdir = build_dir(test, sim, config, code_coverage and sim == "verilator")
    if wave_window:
        bdir = bdir.with_name(bdir.name + "-window")
    rdir = run_dir or bdir
    if testcase is None:
        cases = test.cases_for(config, sim)
        testcase = ",".join(cases) if cases else None
    rdir.mkdir(parents=True, exist_ok=True)
    runner = get_runner(sim)
    build_args: list[str] = []
    if sim == "verilator":
        # --assert turns the RTL's immediate assertions on; -O3 pays back on long runs.
        build_args = ["--assert", "-O3", "-Wno-fatal"]
        if code_coverage:
            build_args += ["--coverage-line", "--coverage-toggle"]
    sources = test.source_paths()
    defines: dict[str, str] = {}
    plusargs: list[str] = []
    if wave_window:
        sources = [*sources, WAVE_WINDOW]
        build_args = ["-s", "wave_window"]
        defines = {"WAVE_TOP": test.toplevel}
        plusargs = [f"+wave_from={wave_window[0]}", f"+wave_to={wave_window[1]}"]
    runner.build(
        sources=sources,
        defines=defines,
        hdl_toplevel=test.toplevel,
        parameters=params,
        build_args=build_args,
        build_dir=bdir,
        timescale=("1ns", "1ps"),
        waves=waves,
    )
    # The runner hands this process's sys.path to the simulator as PYTHONPATH.
    for path in (str(TESTS_DIR), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    env = {
        "NEURAL_TEST": test.name,
        "NEURAL_SIM": sim,
        "NEURAL_CONFIG": config,
        "NEURAL_PARAMS": json.dumps(params),
        "NEURAL_OUT_DIR": str(rdir),
        "NEURAL_EXTRA": json.dumps(extra or {}),
    }
    results = runner.test(
        test_module=test.name,
        hdl_toplevel=test.toplevel,
        test_dir=rdir,
        build_dir=bdir,
        seed=seed,
        extra_env=env,
        # Icarus writes no dump file at all without this (the window module's dump included).
        waves=waves or bool(wave_window),
        testcase=testcase,
        plusargs=plusargs,
        results_xml=str(rdir / "results.xml"),
        timescale=("1ns", "1ps"),
    )
    if wave_window:
        log.info("waves from %d to %d ns in %s", *wave_window, rdir / "window.fst")
    return get_results(results)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("test", help=f"one of: {', '.join(TESTS)}")
    ap.add_argument("--sim", default="verilator", choices=SIMS)
    ap.add_argument("--config", default="all", help="parameter set id, or 'all'")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: new one)")
    ap.add_argument("--waves", action="store_true", help="dump waveforms (FST/VCD) in build/")
    ap.add_argument("--testcase", default=None, help="run only this test class")
    ap.add_argument(
        "--wave-window",
        default=None,
        help="FROM:TO in ns: dump window.fst for just that span (Icarus)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    test = TESTS.get(args.test)
    if test is None:
        log.error("unknown test %r; known tests: %s", args.test, ", ".join(TESTS))
        return 2
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    configs = list(test.configs) if args.config == "all" else [args.config]
    failed_runs = []
    for config in configs:
        log.info("%s [%s] on %s, seed %d", test.name, config, args.sim, seed)
        window = None
        if args.wave_window:
            lo, _, hi = args.wave_window.partition(":")
            window = (int(float(lo)), int(float(hi)))
        ran, failed = run_one(
            test,
            args.sim,
            config,
            seed,
            args.waves,
            args.testcase,
            extra=test.extra_for(config, args.sim),
            wave_window=window,
        )
        if failed or ran == 0:
            failed_runs.append(config)
    cmd = f"make sim TEST={test.name} SIM={args.sim} SEED={seed}"
    if failed_runs:
        for config in failed_runs:
            log.error("FAILED %s [%s]; rerun: %s CONFIG=%s", test.name, config, cmd, config)
        return 1
    log.info("PASSED %s on %s, %d configs, seed %d", test.name, args.sim, len(configs), seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
