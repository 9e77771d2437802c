"""Block test of w2ttfs_classifier: spike maps in, logits and the predicted class out."""

from __future__ import annotations

import cocotb
import numpy as np
import pyuvm
from cocotb.triggers import ReadOnly, RisingEdge
from cocotb_coverage.coverage import CoverPoint
from pyuvm import ConfigDB, uvm_component

from golden import layers as gl
from verif.neural_tb import (
    BaseEnv,
    BaseTest,
    ErrorInjector,
    Forward,
    InOrderScoreboard,
    StreamAgent,
    StreamAgentConfig,
    StreamBus,
    StreamItem,
    StreamSequence,
)

WEIGHT_W = 8
# (source idle probability, sink backpressure probability) per image, in turn
PHASES = [(0.0, 0.0), (0.3, 0.0), (0.0, 0.5), (0.3, 0.3)]
TIE_BINS = ["unique", "tie", "all_equal"]


def geometries(params: dict) -> list[tuple[int, int]]:
    """(log2 map side, log2 window side) pairs the parameter set can hold, global ones included."""
    out = []
    for hwl in range(params["MaxHwLog2"] + 1):
        for wsl in range(min(hwl, 3) + 1):
            if 4 ** (hwl - wsl) <= params["MaxWin"]:
                out.append((hwl, wsl))
    return out


def pack_row(w: np.ndarray) -> int:
    """One weight row (int8 per class) as the wt_row_i vector, class o in bits 8*o."""
    return sum((int(v) & 0xFF) << (WEIGHT_W * o) for o, v in enumerate(w))


def unpack_row(row: int, classes: int) -> np.ndarray:
    vals = [(row >> (WEIGHT_W * o)) & 0xFF for o in range(classes)]
    return np.array([v - 256 if v >= 128 else v for v in vals], dtype=np.int64)


def to_signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) else v


def words_of(spikes: np.ndarray) -> list[dict[str, int]]:
    """Row-major spike words of a [C, H, W] map, as written back by the conv datapath."""
    c, h, w = spikes.shape
    flat = spikes.reshape(c, h * w)
    weights = 1 << np.arange(c, dtype=object)
    return [
        {"word": int((flat[:, p].astype(object) * weights).sum()), "pos": p} for p in range(h * w)
    ]


def expected_logits(spikes, ws, weights, bias) -> tuple[np.ndarray, np.ndarray]:
    """Golden logits of one map: counts per window, flattened (channel, row, column), then the
    classifier integrated slot by slot. Cross-checked against the closed form sum(w * n)."""
    counts = gl.w2ttfs_counts(spikes, ws)
    flat = counts.reshape(-1)
    w = weights[: flat.size].T
    logits = gl.ttfs_integrate(gl.w2ttfs_times(flat, ws), w, ws, bias)
    closed = gl.fc_logits(flat, w, bias)
    if not np.array_equal(logits, closed):
        raise AssertionError("golden slot-by-slot and closed-form logits disagree")
    return logits, counts


class ResultPredictor(uvm_component):
    """Rebuilds weights, biases and maps from the input monitors and predicts the result beats."""

    def build_phase(self) -> None:
        self.tb = ConfigDB().get(self, "", "tb")
        p = self.tb.params
        self.channels, self.classes, self.acc_w = p["Channels"], p["Classes"], p["AccW"]
        self.weights = np.zeros((p["Channels"] * p["MaxWin"], self.classes), dtype=np.int64)
        self.bias = np.zeros(self.classes, dtype=np.int64)
        self.map: np.ndarray | None = None
        self.seen = 0
        self.images = 0
        self.samplers = {}
        for ws in sorted({1 << wsl for _, wsl in geometries(p)}):
            s = ws * ws

            @CoverPoint(f"w2ttfs.count_ws{ws}", xf=lambda n: n, bins=list(range(s + 1)))
            def sample(n: int) -> None:
                pass

            self.samplers[ws] = sample
        geo_bins = [f"{1 << h}x{1 << h}/ws{1 << w}" for h, w in geometries(p)]

        @CoverPoint("w2ttfs.geometry", xf=lambda g, t: g, bins=geo_bins)
        @CoverPoint("w2ttfs.logit_tie", xf=lambda g, t: t, bins=TIE_BINS)
        def sample_image(geometry: str, tie: str) -> None:
            pass

        self.sample_image = sample_image

    def write_weight(self, item: StreamItem) -> None:
        self.weights[item.fields["addr"]] = unpack_row(item.fields["row"], self.classes)

    def write_bias(self, item: StreamItem) -> None:
        self.bias[item.fields["cls"]] = to_signed(item.fields["value"], self.acc_w)

    def write_word(self, item: StreamItem) -> None:
        dut = cocotb.top
        hwl, wsl = int(dut.cfg_hw_log2_i.value), int(dut.cfg_ws_log2_i.value)
        side, ws = 1 << hwl, 1 << wsl
        if self.map is None:
            self.map = np.zeros((self.channels, side, side), dtype=np.uint8)
        pos, word = item.fields["pos"], item.fields["word"]
        bits = [(word >> c) & 1 for c in range(self.channels)]
        self.map[:, pos // side, pos % side] = bits
        self.seen += 1
        if self.seen < side * side:
            return
        logits, counts = expected_logits(self.map, ws, self.weights, self.bias)
        for n in counts.reshape(-1):
            self.samplers[ws](int(n))
        pred = int(gl.classify(logits))
        top = np.flatnonzero(logits == logits.max())
        tie = "unique" if top.size == 1 else "all_equal" if top.size == self.classes else "tie"
        self.sample_image(f"{side}x{side}/ws{ws}", tie)
        mask = (1 << self.acc_w) - 1
        for o in range(self.classes):
            fields = {
                "cls": o,
                "logit": int(logits[o]) & mask,
                "pred": pred,
                "last": int(o == self.classes - 1),
            }
            self.out.write(StreamItem("res", fields))
        self.map, self.seen = None, 0
        self.images += 1


class W2ttfsEnv(BaseEnv):
    def build_phase(self) -> None:
        super().build_phase()
        dut = self.dut

        def agent(name, bus, role):
            cfg = StreamAgentConfig(bus, dut.clk_i, dut.rst_i, role=role, rng=self.tb.rng(name))
            ConfigDB().set(self, name, "cfg", cfg)
            return cfg, StreamAgent(name, self)

        self.word_cfg, self.word = agent(
            "word",
            StreamBus(dut, "word_valid_i", "word_ready_o", {"word": "word_i", "pos": "word_pos_i"}),
            "source",
        )
        self.wt_cfg, self.wt = agent(
            "wt", StreamBus.from_prefix(dut, "wt", ["addr", "row"], "in"), "source"
        )
        self.bias_cfg, self.bias = agent(
            "bias",
            StreamBus(
                dut, "bias_valid_i", "bias_ready_o", {"cls": "bias_cls_i", "value": "bias_i"}
            ),
            "source",
        )
        self.res_cfg, self.res = agent(
            "res",
            StreamBus.from_prefix(dut, "res", ["cls", "logit", "pred", "last"], "out"),
            "sink",
        )
        self.predictor = ResultPredictor("predictor", self)
        self.to_wt = Forward("to_wt", self, self.predictor.write_weight)
        self.to_bias = Forward("to_bias", self, self.predictor.write_bias)
        self.to_word = Forward("to_word", self, self.predictor.write_word)
        self.scoreboard = InOrderScoreboard("scoreboard", self)

    def connect_phase(self) -> None:
        self.wt.ap.connect(self.to_wt.analysis_export)
        self.bias.ap.connect(self.to_bias.analysis_export)
        self.word.ap.connect(self.to_word.analysis_export)
        self.predictor.out = self.scoreboard.expected_export
        self.res.ap.connect(self.scoreboard.actual_export)


class CountDeck:
    """Draws window counts 0 .. ws*ws so that every value comes up once per round."""

    def __init__(self, rng, s: int):
        self.rng, self.s, self.deck = rng, s, []

    def draw(self) -> int:
        if not self.deck:
            self.deck = list(range(self.s + 1))
            self.rng.shuffle(self.deck)
        return self.deck.pop()


def make_map(rng, counts: np.ndarray, ws: int) -> np.ndarray:
    """A [C, side, side] spike map whose ws x ws windows hold exactly `counts` [C, nw, nw]."""
    c, nw, _ = counts.shape
    spikes = np.zeros((c, nw * ws, nw * ws), dtype=np.uint8)
    for ch in range(c):
        for wy in range(nw):
            for wx in range(nw):
                cells = rng.sample(range(ws * ws), int(counts[ch, wy, wx]))
                for cell in cells:
                    spikes[ch, wy * ws + cell // ws, wx * ws + cell % ws] = 1
    return spikes


@pyuvm.test()
class W2ttfsTest(BaseTest):
    """Every map/window geometry of the parameter set: all-zero and full maps, every window count,
    random weights, biases that force ties at the maximum, random stalls on every stream."""

    env_class = W2ttfsEnv
    coverage_prefix = "w2ttfs"
    DRAIN_TIMEOUT_CYCLES = 50_000
    BIAS_RANGE = 1 << 10

    async def load_weights(self, rng, inputs: int) -> np.ndarray:
        classes = self.tb.params["Classes"]
        style = rng.choice(["full", "small", "sparse"])
        lim = 127 if style == "full" else 3
        w = np.array(
            [[rng.randint(-lim - 1, lim) for _ in range(classes)] for _ in range(inputs)],
            dtype=np.int64,
        )
        if style == "sparse":
            w[np.array([[rng.random() < 0.7 for _ in range(classes)] for _ in range(inputs)])] = 0
        rows = [{"addr": i, "row": pack_row(w[i])} for i in range(inputs)]
        await StreamSequence("wt", rows).start(self.env.wt.seqr)
        return w

    async def load_bias(self, bias: np.ndarray) -> None:
        mask = (1 << self.tb.params["AccW"]) - 1
        beats = [{"cls": o, "value": int(b) & mask} for o, b in enumerate(bias)]
        await StreamSequence("bias", beats).start(self.env.bias.seqr)

    def images_for(self, hwl: int, wsl: int) -> int:
        ws, nw = 1 << wsl, 1 << (hwl - wsl)
        per_image = self.tb.params["Channels"] * nw * nw
        return 2 + max(2, -(-(ws * ws + 1) // per_image))

    async def wait_idle(self) -> None:
        await self.wait_until(
            lambda: self.env.res.monitor.count >= self.expected_beats,
            self.DRAIN_TIMEOUT_CYCLES,
            "results of the previous images",
        )

    async def stimulus(self) -> None:
        p = self.tb.params
        rng = self.tb.rng("maps")
        channels, classes = p["Channels"], p["Classes"]
        self.expected_beats = 0
        phase = 0
        for hwl, wsl in geometries(p):
            await self.wait_idle()
            self.dut.cfg_hw_log2_i.value = hwl
            self.dut.cfg_ws_log2_i.value = wsl
            await RisingEdge(self.clk)
            ws, nw = 1 << wsl, 1 << (hwl - wsl)
            self.logger.info("map %dx%d, window %dx%d", 1 << hwl, 1 << hwl, ws, ws)
            weights = await self.load_weights(rng, channels * nw * nw)
            deck = CountDeck(rng, ws * ws)
            bias = np.zeros(classes, dtype=np.int64)
            for k in range(self.images_for(hwl, wsl)):
                if k == 0:
                    counts = np.zeros((channels, nw, nw), dtype=np.int64)
                elif k == 1:
                    counts = np.full((channels, nw, nw), ws * ws, dtype=np.int64)
                else:
                    counts = np.array(
                        [deck.draw() for _ in range(channels * nw * nw)], dtype=np.int64
                    ).reshape(channels, nw, nw)
                spikes = make_map(rng, counts, ws)
                new_bias = self.choose_bias(rng, k, spikes, ws, weights)
                if new_bias is not None:
                    bias = new_bias
                    await self.load_bias(bias)
                idle, stall = PHASES[phase % len(PHASES)]
                phase += 1
                for cfg in (self.env.word_cfg, self.env.wt_cfg, self.env.bias_cfg):
                    cfg.idle_prob = idle
                self.env.res_cfg.backpressure_prob = stall
                self.expected_beats += classes
                await StreamSequence("map", words_of(spikes)).start(self.env.word.seqr)
        await self.wait_idle()

    def choose_bias(self, rng, k: int, spikes, ws: int, weights) -> np.ndarray | None:
        """Zero bias on the first image (all-zero map: every logit equal); afterwards sometimes
        random, sometimes raised so that a second class meets the maximum exactly."""
        classes = self.tb.params["Classes"]
        if k == 0:
            return np.zeros(classes, dtype=np.int64)
        kind = rng.choice(["keep", "random", "tie", "tie"])
        if kind == "keep":
            return None
        bias = np.array(
            [rng.randint(-self.BIAS_RANGE, self.BIAS_RANGE) for _ in range(classes)], dtype=np.int64
        )
        if kind == "tie":
            logits, _ = expected_logits(spikes, ws, weights, bias)
            m = int(gl.classify(logits))
            j = rng.choice([o for o in range(classes) if o != m])
            bias[j] += int(logits[m] - logits[j])
        return bias

    def done(self) -> bool:
        return self.env.res.monitor.count >= self.expected_beats

    def check_phase(self) -> None:
        self.logger.info("%d images checked", self.env.predictor.images)


@pyuvm.test()
class W2ttfsInjectTest(W2ttfsTest):
    """Corrupts one observed logit and proves that the scoreboard flags exactly that beat."""

    def end_of_elaboration_phase(self) -> None:
        victim = self.tb.rng("victim").randrange(3 * self.tb.params["Classes"])
        self.logger.info("corrupting result beat %d", victim)
        self.injector = ErrorInjector(
            self.env.res.monitor,
            self.env.scoreboard,
            victim,
            lambda item: item.fields.__setitem__("logit", item.fields["logit"] ^ 1),
        )

    def check_phase(self) -> None:
        self.injector.check()


class LatencyProbe(uvm_component):
    """Cycle stamps of each image: first word taken, last word taken, last result beat."""

    def build_phase(self) -> None:
        self.rows: list[tuple[int, int, int]] = []

    async def run_phase(self) -> None:
        dut = cocotb.top
        cycle, first, last_word = 0, None, None
        while True:
            await RisingEdge(dut.clk_i)
            await ReadOnly()
            cycle += 1
            if int(dut.rst_i.value):
                continue
            if int(dut.word_valid_i.value) and int(dut.word_ready_o.value):
                first = cycle if first is None else first
                last_word = cycle
            if (
                int(dut.res_valid_o.value)
                and int(dut.res_ready_i.value)
                and int(dut.res_last_o.value)
            ):
                self.rows.append((first, last_word, cycle))
                first = None


class W2ttfsLatencyEnv(W2ttfsEnv):
    def build_phase(self) -> None:
        super().build_phase()
        self.probe = LatencyProbe("probe", self)


@pyuvm.test()
class W2ttfsLatencyTest(W2ttfsTest):
    """No stalls, one global geometry at a time, maps of set spike density: logs the cycles from
    the first word to the last result beat (the number the performance model uses)."""

    env_class = W2ttfsLatencyEnv
    coverage_prefix = None
    DENSITIES = (0.0, 0.1, 0.25, 0.5, 1.0)

    async def stimulus(self) -> None:
        p = self.tb.params
        rng = self.tb.rng("latency")
        self.expected_beats = 0
        for hwl, wsl in geometries(p):
            if hwl != wsl or hwl == 0:
                continue
            await self.wait_idle()
            self.dut.cfg_hw_log2_i.value = hwl
            self.dut.cfg_ws_log2_i.value = wsl
            await RisingEdge(self.clk)
            await self.load_weights(rng, p["Channels"])
            side = 1 << hwl
            start = len(self.env.probe.rows)
            for d in self.DENSITIES:
                spikes = np.array(
                    [rng.random() < d for _ in range(p["Channels"] * side * side)], dtype=np.uint8
                ).reshape(p["Channels"], side, side)
                self.expected_beats += p["Classes"]
                await StreamSequence("map", words_of(spikes)).start(self.env.word.seqr)
                await self.wait_idle()
                await RisingEdge(self.clk)
                first, last_word, end = self.env.probe.rows[-1]
                self.logger.info(
                    "latency %dx%d ws=%d C=%d classes=%d density %.2f (%d spikes): "
                    "%d cycles from first word, %d after the last word",
                    side,
                    side,
                    side,
                    p["Channels"],
                    p["Classes"],
                    d,
                    int(spikes.sum()),
                    end - first + 1,
                    end - last_word,
                )
            assert len(self.env.probe.rows) - start == len(self.DENSITIES)
