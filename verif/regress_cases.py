"""pytest cases of one regression: the matrix comes from verif.regress through REGRESS_MATRIX."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from verif.registry import TESTS
from verif.run import run_one

MATRIX = json.loads(os.environ.get("REGRESS_MATRIX", "[]"))
OUT = Path(os.environ.get("REGRESS_DIR", "build/regress"))
CODE_COV = os.environ.get("REGRESS_CODE_COVERAGE", "1") == "1"


def run_dir(name: str, sim: str, config: str, seed: int) -> Path:
    return OUT / "runs" / name / sim / config / str(seed)


# All seeds of one (test, simulator, config) share a build, so they run on the same worker.
CASES = [
    pytest.param(
        n, c, s, seed, id=f"{n}-{s}-{c}-{seed}", marks=pytest.mark.xdist_group(f"{n}-{s}-{c}")
    )
    for n, c, s, seed in MATRIX
]


@pytest.mark.parametrize(("name", "config", "sim", "seed"), CASES)
def test_case(name: str, config: str, sim: str, seed: int) -> None:
    rdir = run_dir(name, sim, config, seed)
    rdir.mkdir(parents=True, exist_ok=True)
    rerun = f"make sim TEST={name} SIM={sim} CONFIG={config} SEED={seed}"
    start = time.perf_counter()
    ran, failed = 0, 1
    try:
        ran, failed = run_one(
            TESTS[name],
            sim,
            config,
            seed,
            extra=TESTS[name].extra_for(config, sim),
            run_dir=rdir,
            code_coverage=CODE_COV,
        )
    finally:
        outcome = {"ran": ran, "failed": failed, "wall_s": time.perf_counter() - start}
        (rdir / "outcome.json").write_text(json.dumps(outcome))
    assert ran > 0, f"no cocotb test ran; rerun: {rerun}"
    assert failed == 0, f"{failed} of {ran} cocotb tests failed; rerun: {rerun}"
