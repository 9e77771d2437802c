"""Base pyuvm env and test: clock, reset, seeding, run statistics and the coverage report."""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cocotb
import cocotb.utils
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from pyuvm import ConfigDB, uvm_env, uvm_subscriber, uvm_test

from verif.neural_tb.coverage import report_coverage
from verif.neural_tb.scoreboard import ErrorInjector
from verif.neural_tb.stream import StreamAgent, StreamAgentConfig, StreamBus


@dataclass
class TbConfig:
    """What the runner tells a simulation about itself (through NEURAL_* environment variables)."""

    test: str
    sim: str
    config: str
    params: dict[str, Any]
    seed: int
    out_dir: str | None
    extra: dict[str, Any] = field(default_factory=dict)
    testcase: str = ""  # the pyuvm test class running now

    @classmethod
    def from_env(cls) -> TbConfig:
        return cls(
            test=os.environ.get("NEURAL_TEST", "unknown"),
            sim=os.environ.get("NEURAL_SIM", cocotb.SIM_NAME or "unknown"),
            config=os.environ.get("NEURAL_CONFIG", "default"),
            params=json.loads(os.environ.get("NEURAL_PARAMS", "{}")),
            # The run's seed, not cocotb's per-test seed derived from it, so that the rerun
            # command reproduces every test of the module.
            seed=int(os.environ.get("COCOTB_RANDOM_SEED", cocotb.RANDOM_SEED)),
            out_dir=os.environ.get("NEURAL_OUT_DIR"),
            extra=json.loads(os.environ.get("NEURAL_EXTRA", "{}")),
        )

    def rerun_command(self) -> str:
        sim = self.sim.lower()
        sim = "icarus" if "icarus" in sim else "verilator" if "verilator" in sim else sim
        return f"make sim TEST={self.test} SIM={sim} CONFIG={self.config} SEED={self.seed}"

    def rng(self, salt: str) -> random.Random:
        """A generator of its own for each component, reproducible from the seed."""
        return random.Random(f"{self.seed}:{self.testcase}:{salt}")


class Forward(uvm_subscriber):
    """Hands each item to a callable, so that one component (a predictor) can take several
    analysis streams, one method each."""

    def __init__(self, name: str, parent: Any, method: Callable[[Any], None]) -> None:
        super().__init__(name, parent)
        self.method = method

    def write(self, item: Any) -> None:
        self.method(item)


class BaseEnv(uvm_env):
    """Holds the TbConfig (as `self.tb`) and the DUT handle (as `self.dut`)."""

    def build_phase(self) -> None:
        self.tb: TbConfig = ConfigDB().get(self, "", "tb")
        self.dut = cocotb.top

    def stream_agent(self, name: str, bus: StreamBus, role: str) -> tuple[Any, Any]:
        """A StreamAgent `name` on `bus` (clocked by clk_i, reset by rst_i) with a generator of
        its own; returns the agent and its config (whose stall knobs tests change at will)."""
        cfg = StreamAgentConfig(
            bus, self.dut.clk_i, self.dut.rst_i, role=role, rng=self.tb.rng(name)
        )
        ConfigDB().set(self, name, "cfg", cfg)
        return StreamAgent(name, self), cfg


class BaseTest(uvm_test):
    """Starts the clock, resets the DUT, runs `stimulus()` and waits for `done()`.

    Subclasses set `env_class` and implement `stimulus()` (start sequences) and `done()` (True
    once every expected output has been seen)."""

    CLK_PERIOD_NS = 10
    RESET_CYCLES = 4
    DRAIN_TIMEOUT_CYCLES = 20_000
    env_class: type[BaseEnv] = BaseEnv
    coverage_prefix: str | None = None

    def build_phase(self) -> None:
        self.dut = cocotb.top
        self.tb = TbConfig.from_env()
        self.tb.testcase = self.get_type_name()
        self.logger.info("seed %d (rerun: %s)", self.tb.seed, self.tb.rerun_command())
        self.logger.info("config %s: %s", self.tb.config, self.tb.params)
        ConfigDB().set(None, "*", "tb", self.tb)
        self.env = self.env_class("env", self)

    @property
    def clk(self) -> Any:
        return self.dut.clk_i

    @property
    def rst(self) -> Any:
        return self.dut.rst_i

    async def reset(self, cycles: int | None = None) -> None:
        self.rst.value = 1
        await ClockCycles(self.clk, cycles or self.RESET_CYCLES)
        self.rst.value = 0

    async def stimulus(self) -> None:
        raise NotImplementedError

    def inject_bit_flip(self, monitor: Any, scoreboard: Any, span: int, field: str) -> None:
        """Error-injection companions: flip bit 0 of `field` in one observed item, drawn from
        the first `span`, and keep the injector for `check_phase` (`self.injector.check()`)."""
        victim = self.tb.rng("victim").randrange(span)
        self.logger.info("corrupting observed item %d (%s)", victim, field)

        def flip(item: Any) -> None:
            item.fields[field] ^= 1

        self.injector = ErrorInjector(monitor, scoreboard, victim, flip)

    def done(self) -> bool:
        raise NotImplementedError

    async def wait_until(
        self,
        cond: Callable[[], bool],
        max_cycles: int,
        what: str | Callable[[], str],
        poll: int = 1,
    ) -> None:
        """Wait for `cond`, checking it every `poll` cycles (coarse polling keeps Python out of
        long runs); fail after `max_cycles`."""
        for _ in range(0, max_cycles, poll):
            if cond():
                return
            await ClockCycles(self.clk, poll)
        what = what() if callable(what) else what
        raise TimeoutError(f"{what} not reached within {max_cycles} cycles")

    async def run_phase(self) -> None:
        self.raise_objection()
        self.rst.value = 1
        Clock(self.clk, self.CLK_PERIOD_NS, unit="ns").start()
        self._wall_start = time.perf_counter()
        self._t0_ns = cocotb.utils.get_sim_time("ns")
        await self.reset()
        await self.stimulus()
        await self.wait_until(self.done, self.DRAIN_TIMEOUT_CYCLES, "end of expected traffic")
        # A few more cycles so that a spurious extra output would still be seen.
        await ClockCycles(self.clk, 16)
        self._wall = time.perf_counter() - self._wall_start
        self.drop_objection()

    def report_phase(self) -> None:
        elapsed_ns = cocotb.utils.get_sim_time("ns") - getattr(self, "_t0_ns", 0)
        cycles = int(elapsed_ns // self.CLK_PERIOD_NS)
        wall = getattr(self, "_wall", 0.0) or 1e-9
        self.logger.info(
            "simulated %d cycles in %.2f s wall: %.0f cycles/s (%s)",
            cycles,
            wall,
            cycles / wall,
            self.tb.sim,
        )
        if self.tb.out_dir:
            stats = os.path.join(self.tb.out_dir, f"stats_{self.get_type_name()}.json")
            with open(stats + ".tmp", "w") as f:
                json.dump({"cycles": cycles, "wall_s": wall, "seed": self.tb.seed}, f)
            os.replace(stats + ".tmp", stats)
        if self.coverage_prefix:
            report_coverage(self.coverage_prefix, self.logger, self.tb.out_dir)
