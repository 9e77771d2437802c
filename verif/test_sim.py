"""pytest entry to every simulation test, on both simulators and every parameter set."""

from __future__ import annotations

import os
import random

import pytest

from verif.registry import TESTS
from verif.run import SIMS, run_one

CASES = [(t.name, cfg) for t in TESTS.values() for cfg in t.configs]


def run_seed() -> int:
    """SEED from the environment, else a fresh one; either way it is printed with the result."""
    env = os.environ.get("SEED")
    return int(env) if env else random.SystemRandom().randrange(2**31)


@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize(("name", "config"), CASES, ids=[f"{n}-{c}" for n, c in CASES])
def test_simulation(name: str, config: str, sim: str) -> None:
    seed = run_seed()
    rerun = f"make sim TEST={name} SIM={sim} CONFIG={config} SEED={seed}"
    print(f"seed {seed}; rerun: {rerun}")
    test = TESTS[name]
    ran, failed = run_one(test, sim, config, seed, extra=test.extra)
    assert ran > 0, f"no cocotb test ran; rerun: {rerun}"
    assert failed == 0, f"{failed} of {ran} cocotb tests failed; rerun: {rerun}"
