"""Block test of qk_attention: Q maps build token or channel masks, K maps come out masked."""

from __future__ import annotations

import cocotb
import numpy as np
import pyuvm
from cocotb.triggers import RisingEdge
from cocotb_coverage.coverage import CoverPoint
from pyuvm import ConfigDB, uvm_subscriber

from golden import layers as gl
from verif.neural_tb import (
    BaseEnv,
    BaseTest,
    InOrderScoreboard,
    StreamBus,
    StreamItem,
    StreamSequence,
)

ROLE_PASS, ROLE_Q, ROLE_K = 0, 1, 2
# (source idle probability, sink backpressure probability) per scenario, in turn
PHASES = [(0.0, 0.0), (0.3, 0.0), (0.0, 0.5), (0.3, 0.3)]
Q_KINDS = ["zero", "ones", "sparse", "dense"]
THETA_BINS = ["1", "2", "middle", "max", "above_max"]
MASK_BINS = ["none", "some", "all"]
WIDTH_BINS = ["full", "narrow"]


def head_counts(params: dict) -> list[int]:
    """Head counts the parameter set builds: 1 .. MaxHeads, at least one channel per head."""
    return [h for h in range(1, params.get("MaxHeads", 8) + 1) if h <= params["Channels"]]


def map_channels(rng, channels: int, heads: int) -> int:
    """Channels of one map: the whole word or fewer (a layer narrower than the word), always a
    multiple of the head count; the channels above stay zero as the conv engine leaves them."""
    groups = channels // heads
    return heads * (groups if rng.random() < 0.5 else rng.randint(1, groups))


def word_of(bits: np.ndarray) -> int:
    return int(sum(1 << int(c) for c in np.flatnonzero(bits)))


def theta_bin(theta: int, top: int) -> str:
    if theta > top:
        return "above_max"
    if theta == top:
        return "max"
    return "1" if theta == 1 else "2" if theta == 2 else "middle"


class AttentionPredictor(uvm_subscriber):
    """Predicts each output word from the input monitor: Q and pass-through words unchanged, K
    words ANDed with the golden mask of the last complete Q map (expanded to channels)."""

    def build_phase(self) -> None:
        self.tb = ConfigDB().get(self, "", "tb")
        self.channels = self.tb.params["Channels"]
        self.shape = (1, 1)  # (H, W) of the maps in flight; set by the test
        self.map_c = self.channels  # channels of the maps in flight; set by the test
        self.q = None
        self.k = None
        self.expanded = None  # [C, H, W] mask of the last Q map
        self.last_q = None
        self.k_out = None
        self.k_maps = 0
        heads = head_counts(self.tb.params)

        @CoverPoint("qk.mode", xf=lambda m, h, tb, qk, mk, wd: m, bins=["token", "channel"])
        @CoverPoint("qk.heads", xf=lambda m, h, tb, qk, mk, wd: h, bins=heads)
        @CoverPoint(
            "qk.theta",
            xf=lambda m, h, tb, qk, mk, wd: f"{m}:{tb}",
            bins=[f"{m}:{b}" for m in ("token", "channel") for b in THETA_BINS],
        )
        @CoverPoint("qk.q_kind", xf=lambda m, h, tb, qk, mk, wd: qk, bins=Q_KINDS)
        @CoverPoint(
            "qk.mask",
            xf=lambda m, h, tb, qk, mk, wd: f"{m}:{mk}",
            bins=[f"{m}:{b}" for m in ("token", "channel") for b in MASK_BINS],
        )
        @CoverPoint("qk.width", xf=lambda m, h, tb, qk, mk, wd: wd, bins=WIDTH_BINS)
        def sample(mode, heads_, theta, q_kind, mask, width) -> None:
            pass

        self.sample = sample

    def _blank(self) -> np.ndarray:
        return np.zeros((self.channels, *self.shape), dtype=np.uint8)

    def _place(self, m: np.ndarray, item: StreamItem) -> None:
        _, w = self.shape
        pos, word = item.fields["pos"], item.fields["word"]
        m[:, pos // w, pos % w] = [(word >> c) & 1 for c in range(self.channels)]

    def write(self, item: StreamItem) -> None:
        role, pos = item.fields["role"], item.fields["pos"]
        out = dict(item.fields)
        if role == ROLE_Q:
            if self.q is None:
                self.q = self._blank()
            self._place(self.q, item)
            if item.fields["last"]:
                self._q_done()
        elif role == ROLE_K:
            if self.k is None:
                self.k, self.k_out = self._blank(), self._blank()
            self._place(self.k, item)
            _, w = self.shape
            y, x = pos // w, pos % w
            masked = self.k[:, y, x] & self.expanded[:, y, x]
            self.k_out[:, y, x] = masked
            out["word"] = word_of(masked)
            if item.fields["last"]:
                self._k_done()
        self.out.write(StreamItem("out", out))

    def _q_done(self) -> None:
        dut = cocotb.top
        channel_mode = int(dut.cfg_channel_i.value)
        ones = np.ones_like(self.q)
        n_pos = self.shape[0] * self.shape[1]
        if channel_mode:
            theta = int(dut.cfg_theta_ch_i.value)
            self.expanded, mask = gl.qkca(self.q, ones, theta)
            self.params = ("channel", theta)
            heads, top = 0, n_pos
        else:
            heads, theta = int(dut.cfg_heads_i.value), int(dut.cfg_theta_tok_i.value)
            group = int(dut.cfg_group_i.value)
            c = heads * group
            # Channels above heads*group belong to no head: their K bits are always cleared.
            self.expanded = self._blank()
            self.expanded[:c], mask = gl.qkta(self.q[:c], ones[:c], heads, theta)
            self.params = ("token", heads, theta, c)
            top = group
        ones_q = int(self.q[: self.map_c].sum())
        kind = (
            "zero"
            if ones_q == 0
            else "ones"
            if ones_q == self.q[: self.map_c].size
            else "sparse"
            if ones_q <= self.q[: self.map_c].size // 4
            else "dense"
        )
        mk = "none" if not mask.any() else "all" if mask.all() else "some"
        mode = "channel" if channel_mode else "token"
        width = "full" if self.map_c == self.channels else "narrow"
        self.sample(mode, heads if heads else None, theta_bin(theta, top), kind, mk, width)
        self.last_q, self.q = self.q, None

    def _k_done(self) -> None:
        # The per-word prediction must equal the golden function applied to the whole maps.
        if self.params[0] == "channel":
            ref, _ = gl.qkca(self.last_q, self.k, self.params[1])
        else:
            _, heads, theta, c = self.params
            ref = np.zeros_like(self.k)
            ref[:c], _ = gl.qkta(self.last_q[:c], self.k[:c], heads, theta)
        if not np.array_equal(ref, self.k_out):
            raise AssertionError("per-word K prediction disagrees with the golden map function")
        self.k, self.k_maps = None, self.k_maps + 1


class QkEnv(BaseEnv):
    def build_phase(self) -> None:
        super().build_phase()
        dut = self.dut
        fields = ["word", "pos", "role", "last"]
        self.src, self.src_cfg = self.stream_agent(
            "src", StreamBus.from_prefix(dut, "in", fields, "in"), "source"
        )
        self.snk, self.snk_cfg = self.stream_agent(
            "snk", StreamBus.from_prefix(dut, "out", fields, "out"), "sink"
        )
        self.predictor = AttentionPredictor("predictor", self)
        self.scoreboard = InOrderScoreboard("scoreboard", self)

    def connect_phase(self) -> None:
        self.src.ap.connect(self.predictor.analysis_export)
        self.predictor.out = self.scoreboard.expected_export
        self.snk.ap.connect(self.scoreboard.actual_export)


def map_words(m: np.ndarray, role: int) -> list[dict[str, int]]:
    _, h, w = m.shape
    return [
        {
            "word": word_of(m[:, p // w, p % w]),
            "pos": p,
            "role": role,
            "last": int(p == h * w - 1),
        }
        for p in range(h * w)
    ]


@pyuvm.test()
class QkAttentionTest(BaseTest):
    """Token and channel attention over every legal head count, thresholds from 1 to above the
    largest sum, all-zero / all-one / random Q maps, pass-through maps between Q and K, stalls."""

    env_class = QkEnv
    coverage_prefix = "qk"
    DRAIN_TIMEOUT_CYCLES = 50_000

    def shapes(self) -> list[tuple[int, int]]:
        posw = self.tb.params["PosW"]
        out = [(1, 1), (2, 3), (4, 4)]
        out += [(h, w) for h, w in ((8, 8), (32, 32)) if h * w <= 1 << posw]
        return [s for s in out if s[0] * s[1] <= 1 << posw]

    def scenarios(self, rng) -> list[dict]:
        c = self.tb.params["Channels"]
        shapes = self.shapes()
        small = [s for s in shapes if s[0] * s[1] <= 64]
        out = []
        for mode in ("token", "channel"):
            for heads in head_counts(self.tb.params) if mode == "token" else [1]:
                for q_kind in Q_KINDS:
                    shape = rng.choice(small)
                    chans = map_channels(rng, c, heads)
                    top = chans // heads if mode == "token" else shape[0] * shape[1]
                    theta = rng.choice(
                        sorted({1, 2, max(1, top // 2), top, top + 1} & set(range(1, top + 2)))
                    )
                    out.append(
                        dict(mode=mode, heads=heads, theta=theta, q=q_kind, shape=shape, c=chans)
                    )
            # Every threshold class once more, so that each coverage bin is reached.
            for theta_kind in THETA_BINS:
                # Sums that reach at least 6, so that 1, 2, the middle and the top differ.
                wide = [h for h in head_counts(self.tb.params) if c // h >= 6] or [1]
                heads = rng.choice(wide) if mode == "token" else 1
                shape = rng.choice([s for s in small if s[0] * s[1] >= 6])
                top = c // heads if mode == "token" else shape[0] * shape[1]
                theta = {
                    "1": 1,
                    "2": 2,
                    "middle": max(3, top // 2),
                    "max": top,
                    "above_max": top + 1,
                }[theta_kind]
                q = rng.choice(["sparse", "dense"])
                out.append(
                    dict(
                        mode=mode, heads=heads, theta=theta, q=q, shape=shape, c=c // heads * heads
                    )
                )
            # Masks that are all set (all-one Q) and all clear (all-zero Q) in every mode.
            heads = max(head_counts(self.tb.params)) if mode == "token" else 1
            for q in ("ones", "zero"):
                shape = rng.choice(small)
                out.append(
                    dict(mode=mode, heads=heads, theta=1, q=q, shape=shape, c=c // heads * heads)
                )
        big = shapes[-1]
        out.append(
            dict(
                mode="token",
                heads=max(head_counts(self.tb.params)),
                theta=1,
                q="sparse",
                shape=big,
                c=map_channels(rng, c, max(head_counts(self.tb.params))),
            )
        )
        out.append(dict(mode="channel", heads=1, theta=3, q="sparse", shape=big, c=c))
        rng.shuffle(out)
        return out

    def make_map(self, rng, kind: str, shape, chans: int) -> np.ndarray:
        """A [Channels, H, W] map whose channels from `chans` up are zero."""
        out = np.zeros((self.tb.params["Channels"], *shape), dtype=np.uint8)
        size = (chans, *shape)
        if kind == "ones":
            out[:chans] = 1
        elif kind != "zero":
            p = rng.choice([0.02, 0.1, 0.2]) if kind == "sparse" else rng.choice([0.5, 0.8])
            gen = np.random.default_rng(rng.getrandbits(32))
            out[:chans] = gen.random(size) < p
        return out

    async def stimulus(self) -> None:
        rng = self.tb.rng("maps")
        dut = self.dut
        self.expected = 0
        for i, sc in enumerate(self.scenarios(rng)):
            await self.wait_until(self.done, self.DRAIN_TIMEOUT_CYCLES, "previous scenario")
            dut.cfg_channel_i.value = int(sc["mode"] == "channel")
            dut.cfg_heads_i.value = sc["heads"]
            dut.cfg_group_i.value = sc["c"] // sc["heads"]
            dut.cfg_theta_tok_i.value = sc["theta"] if sc["mode"] == "token" else 1
            dut.cfg_theta_ch_i.value = sc["theta"] if sc["mode"] == "channel" else 1
            self.env.predictor.shape = sc["shape"]
            self.env.predictor.map_c = sc["c"]
            idle, stall = PHASES[i % len(PHASES)]
            self.env.src_cfg.idle_prob = idle
            self.env.snk_cfg.backpressure_prob = stall
            await RisingEdge(self.clk)
            q = self.make_map(rng, sc["q"], sc["shape"], sc["c"])
            k = self.make_map(rng, rng.choice(["ones", "dense", "sparse"]), sc["shape"], sc["c"])
            words = map_words(q, ROLE_Q)
            if rng.random() < 0.5:
                # An unrelated map written back between Q and K passes untouched.
                words += map_words(self.make_map(rng, "dense", sc["shape"], sc["c"]), ROLE_PASS)
            words += map_words(k, ROLE_K)
            self.expected += len(words)
            await StreamSequence("maps", words).start(self.env.src.seqr)
        await self.wait_until(self.done, self.DRAIN_TIMEOUT_CYCLES, "last scenario")

    def done(self) -> bool:
        return self.env.snk.monitor.count >= self.expected

    def check_phase(self) -> None:
        self.logger.info("%d K maps checked", self.env.predictor.k_maps)


@pyuvm.test()
class QkAttentionInjectTest(QkAttentionTest):
    """Corrupts one observed output word and proves that the scoreboard flags exactly it."""

    def end_of_elaboration_phase(self) -> None:
        self.inject_bit_flip(self.env.snk.monitor, self.env.scoreboard, 100, "word")

    def check_phase(self) -> None:
        self.injector.check()
