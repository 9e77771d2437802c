"""Block test of elastic_fifo: random traffic and stalls, empty/full corners, fill-level checks."""

from __future__ import annotations

import itertools

import cocotb
import pyuvm
from cocotb.triggers import ReadOnly, RisingEdge
from cocotb_coverage.coverage import CoverCross, CoverPoint
from pyuvm import ConfigDB, uvm_component, uvm_subscriber

from verif.neural_tb import (
    BaseEnv,
    BaseTest,
    InOrderScoreboard,
    StreamBus,
    StreamSequence,
)

OPS = ["idle", "push", "pop", "push_pop"]


class LevelChecker(uvm_component):
    """Every cycle: level_o, full_o, empty_o and ready_o agree with a count of the handshakes,
    and fill level / operation coverage is sampled."""

    def build_phase(self) -> None:
        self.tb = ConfigDB().get(self, "", "tb")
        depth = self.tb.params["Depth"]
        self.depth = depth
        self.errors: list[str] = []

        # cocotb-coverage builds decorators top to bottom, so the cross comes after its points.
        @CoverPoint("elastic_fifo.level", xf=lambda lv, op, st: lv, bins=list(range(depth + 1)))
        @CoverPoint("elastic_fifo.op", xf=lambda lv, op, st: op, bins=OPS)
        @CoverPoint("elastic_fifo.write_blocked_by_full", xf=lambda lv, op, st: st, bins=[True])
        @CoverCross(
            "elastic_fifo.level_x_op",
            items=["elastic_fifo.level", "elastic_fifo.op"],
            # No read from an empty FIFO, no write into a full one.
            ign_bins=[(0, "pop"), (0, "push_pop"), (depth, "push"), (depth, "push_pop")],
        )
        def sample(level: int, op: str, stalled_full: bool) -> None:
            pass

        self.sample = sample

    async def run_phase(self) -> None:
        dut = cocotb.top
        model = 0
        while True:
            await RisingEdge(dut.clk_i)
            await ReadOnly()
            if int(dut.rst_i.value):
                model = 0
                continue
            level = int(dut.level_o.value)
            full, empty = int(dut.full_o.value), int(dut.empty_o.value)
            ready = int(dut.ready_o.value)
            if level != model:
                self._error(f"level_o {level}, expected {model}")
            if full != (model == self.depth) or empty != (model == 0) or ready != (1 - full):
                self._error(f"flags full={full} empty={empty} ready={ready} at level {model}")
            push = int(dut.valid_i.value) & ready
            pop = int(dut.valid_o.value) & int(dut.ready_i.value)
            if int(dut.valid_o.value) != (model > 0):
                self._error(f"valid_o {int(dut.valid_o.value)} at level {model}")
            self.sample(model, OPS[push + 2 * pop], bool(int(dut.valid_i.value) and not ready))
            model += push - pop

    def _error(self, msg: str) -> None:
        if not self.errors:
            self.logger.error(msg)
        self.errors.append(msg)

    def check_phase(self) -> None:
        assert not self.errors, f"{len(self.errors)} status errors, first: {self.errors[0]}"


class Identity(uvm_subscriber):
    """A FIFO's prediction is its input, in order."""

    def write(self, item) -> None:
        self.out.write(item)


class FifoEnv(BaseEnv):
    def build_phase(self) -> None:
        super().build_phase()
        self.src, self.src_cfg = self.stream_agent(
            "src", StreamBus.from_prefix(self.dut, "", ["data"], "in"), "source"
        )
        self.snk, self.snk_cfg = self.stream_agent(
            "snk", StreamBus.from_prefix(self.dut, "", ["data"], "out"), "sink"
        )
        self.predictor = Identity("predictor", self)
        self.scoreboard = InOrderScoreboard("scoreboard", self)
        self.levels = LevelChecker("levels", self)

    def connect_phase(self) -> None:
        self.src.ap.connect(self.predictor.analysis_export)
        self.predictor.out = self.scoreboard.expected_export
        self.snk.ap.connect(self.scoreboard.actual_export)


# (source idle probability, sink backpressure probability, items) per traffic phase: a clean
# burst for throughput, a blocked sink to reach full, a slow source to sit at empty, then mixed.
PHASES = [(0.0, 0.0, 64), (0.0, 0.9, 96), (0.8, 0.0, 96), (0.3, 0.3, 400), (0.6, 0.6, 200)]


@pyuvm.test()
class ElasticFifoTest(BaseTest):
    """Random payloads through every traffic phase; checks order, data, levels and throughput."""

    env_class = FifoEnv
    coverage_prefix = "elastic_fifo"

    async def stimulus(self) -> None:
        width = self.tb.params["Width"]
        rng = self.tb.rng("payload")
        self.sent = 0
        for idle, stall, n in PHASES:
            self.env.src_cfg.idle_prob = idle
            self.env.snk_cfg.backpressure_prob = stall
            payloads = [{"data": rng.getrandbits(width)} for _ in range(n)]
            if idle == 0.0 and stall == 0.0:
                await self._burst(payloads, first_out=self.sent)
            else:
                await StreamSequence("seq", payloads).start(self.env.src.seqr)
            self.sent += n

    async def _burst(self, payloads, first_out: int) -> None:
        """With no stall on either side the FIFO must pass one item per cycle."""
        times: list[float] = []
        mon = self.env.snk.monitor
        mon_write = mon.ap.write

        def record(item) -> None:
            if first_out <= mon.count - 1 < first_out + len(payloads):
                times.append(item.time_ns)
            mon_write(item)

        mon.ap.write = record
        await StreamSequence("burst", payloads).start(self.env.src.seqr)
        await self.wait_until(lambda: len(times) == len(payloads), 1000, "end of burst")
        mon.ap.write = mon_write
        gaps = {round(b - a) for a, b in itertools.pairwise(times)}
        assert gaps == {self.CLK_PERIOD_NS}, f"burst output gaps {sorted(gaps)} ns, not one cycle"

    def done(self) -> bool:
        return self.env.snk.monitor.count >= self.sent


@pyuvm.test()
class ElasticFifoInjectTest(ElasticFifoTest):
    """Corrupts one observed output and proves that the scoreboard reports exactly that item."""

    def end_of_elaboration_phase(self) -> None:
        self.inject_bit_flip(
            self.env.snk.monitor, self.env.scoreboard, sum(n for _, _, n in PHASES), "data"
        )

    def check_phase(self) -> None:
        self.injector.check()
