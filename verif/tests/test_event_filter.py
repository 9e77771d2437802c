"""Block test of event_filter: spike words of every sparsity in, address events out."""

from __future__ import annotations

import cocotb
import pyuvm
from cocotb.triggers import ReadOnly, RisingEdge
from cocotb_coverage.coverage import CoverPoint
from pyuvm import ConfigDB, uvm_component, uvm_subscriber

from golden.events import word_to_events
from verif.neural_tb import (
    BaseEnv,
    BaseTest,
    InOrderScoreboard,
    StreamBus,
    StreamItem,
    StreamSequence,
)

DENSITY_BINS = ["0%", "<=10%", "<=50%", "<100%", "100%"]


def density_bin(ones: int, channels: int) -> str:
    if ones == 0:
        return "0%"
    if ones == channels:
        return "100%"
    frac = ones / channels
    return "<=10%" if frac <= 0.1 else "<=50%" if frac <= 0.5 else "<100%"


class EventPredictor(uvm_subscriber):
    """Expected events of each accepted word, from the golden reference; samples word coverage."""

    def build_phase(self) -> None:
        self.channels = ConfigDB().get(self, "", "tb").params["Channels"]
        channels = self.channels
        bins = sorted({0, 1, 2, channels // 2, channels - 1, channels} & set(range(channels + 1)))

        @CoverPoint(
            "event_filter.density",
            xf=lambda ones: density_bin(ones, channels),
            bins=[b for b in DENSITY_BINS if channels > 1 or b in ("0%", "100%")],
        )
        @CoverPoint("event_filter.ones_corner", xf=lambda ones: ones, bins=bins)
        def sample(ones: int) -> None:
            pass

        self.sample = sample

    def write(self, item: StreamItem) -> None:
        word, pos = item.fields["word"], item.fields["pos"]
        self.sample(bin(word).count("1"))
        for ev in word_to_events(word, self.channels, pos):
            self.out.write(StreamItem("ev", {"ch": ev.ch, "pos": ev.pos, "last": int(ev.last)}))


class TimingChecker(uvm_component):
    """Cycle rules: an idle filter takes a word at once, a busy one exactly with its last event,
    and events follow each other with no bubble while the sink is ready."""

    def build_phase(self) -> None:
        self.errors: list[str] = []

        @CoverPoint(
            "event_filter.cycle",
            xf=lambda kind: kind,
            bins=["idle_take", "take_with_last", "event_stalled", "word_waits", "zero_word_taken"],
        )
        def sample(kind: str) -> None:
            pass

        self.sample = sample

    def _error(self, msg: str) -> None:
        if not self.errors:
            self.logger.error(msg)
        self.errors.append(msg)

    async def run_phase(self) -> None:
        dut = cocotb.top
        owe_event = False  # an event must be valid this cycle
        while True:
            await RisingEdge(dut.clk_i)
            await ReadOnly()
            if int(dut.rst_i.value):
                owe_event = False
                continue
            ev_valid, ev_ready = int(dut.ev_valid_o.value), int(dut.ev_ready_i.value)
            w_valid, w_ready = int(dut.word_valid_i.value), int(dut.word_ready_o.value)
            last = ev_valid and int(dut.ev_last_o.value)
            t = cocotb.utils.get_sim_time("ns")
            if owe_event and not ev_valid:
                self._error(f"{t} ns: bubble in the event stream")
            if not ev_valid and not w_ready:
                self._error(f"{t} ns: idle filter refuses a word")
            fire = ev_valid and ev_ready
            if ev_valid and w_ready != (fire and last):
                self._error(f"{t} ns: word_ready_o={w_ready} while busy (fire={fire} last={last})")
            take = w_valid and w_ready
            word_nonzero = int(dut.word_i.value) != 0
            if take:
                self.sample("take_with_last" if fire else "idle_take")
                if not word_nonzero:
                    self.sample("zero_word_taken")
            if ev_valid and not ev_ready:
                self.sample("event_stalled")
            if w_valid and not w_ready:
                self.sample("word_waits")
            owe_event = bool((take and word_nonzero) or (ev_valid and not (fire and last)))

    def check_phase(self) -> None:
        assert not self.errors, f"{len(self.errors)} timing errors, first: {self.errors[0]}"


class EventFilterEnv(BaseEnv):
    def build_phase(self) -> None:
        super().build_phase()
        dut = self.dut
        self.src, self.src_cfg = self.stream_agent(
            "src",
            StreamBus(dut, "word_valid_i", "word_ready_o", {"word": "word_i", "pos": "word_pos_i"}),
            "source",
        )
        self.snk, self.snk_cfg = self.stream_agent(
            "snk", StreamBus.from_prefix(dut, "ev", ["ch", "pos", "last"], "out"), "sink"
        )
        self.predictor = EventPredictor("predictor", self)
        self.scoreboard = InOrderScoreboard("scoreboard", self)
        self.timing = TimingChecker("timing", self)

    def connect_phase(self) -> None:
        self.src.ap.connect(self.predictor.analysis_export)
        self.predictor.out = self.scoreboard.expected_export
        self.snk.ap.connect(self.scoreboard.actual_export)


DENSITIES = [0.0, 0.02, 0.1, 0.3, 0.5, 0.9, 1.0]
# (source idle probability, sink backpressure probability) per traffic phase
PHASES = [(0.0, 0.0), (0.0, 0.5), (0.5, 0.0), (0.3, 0.3)]


@pyuvm.test()
class EventFilterTest(BaseTest):
    """Words of every density, all-zero and all-one words, through every traffic phase."""

    env_class = EventFilterEnv
    coverage_prefix = "event_filter"
    EVENT_BUDGET = 6000  # events per traffic phase, so wide words do not make runs slow

    def make_words(self, rng) -> list[dict[str, int]]:
        channels, posw = self.tb.params["Channels"], self.tb.params["PosW"]
        full = (1 << channels) - 1
        all_but_one = full ^ (1 << rng.randrange(channels))
        words = [
            {"word": 0, "pos": 0},
            {"word": full, "pos": 1},
            {"word": 0, "pos": 2},
            {"word": all_but_one, "pos": 3},
        ]
        events = channels
        while events < self.EVENT_BUDGET and len(words) < 400:
            p = rng.choice(DENSITIES)
            word = sum(1 << c for c in range(channels) if rng.random() < p)
            words.append({"word": word, "pos": rng.getrandbits(posw)})
            events += bin(word).count("1")
        return words

    async def stimulus(self) -> None:
        rng = self.tb.rng("words")
        self.expected_events = 0
        for idle, stall in PHASES:
            self.env.src_cfg.idle_prob = idle
            self.env.snk_cfg.backpressure_prob = stall
            words = self.make_words(rng)
            self.expected_events += sum(bin(w["word"]).count("1") for w in words)
            await StreamSequence("seq", words).start(self.env.src.seqr)

    def done(self) -> bool:
        return self.env.snk.monitor.count >= self.expected_events


@pyuvm.test()
class EventFilterInjectTest(EventFilterTest):
    """Corrupts one observed event's position and proves that the scoreboard flags exactly it."""

    def end_of_elaboration_phase(self) -> None:
        self.inject_bit_flip(self.env.snk.monitor, self.env.scoreboard, 500, "pos")

    def check_phase(self) -> None:
        self.injector.check()
