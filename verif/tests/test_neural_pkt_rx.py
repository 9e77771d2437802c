"""Block test of neural_pkt_rx: good and malformed input packets in, payload writes and packet
outcomes out, both checked against a cycle-free Python model of the parser."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pyuvm
from cocotb_coverage.coverage import CoverPoint
from pyuvm import uvm_subscriber

from verif.neural_tb import (
    BaseEnv,
    BaseTest,
    InOrderScoreboard,
    StreamBus,
    StreamItem,
    StreamSequence,
)
from verif.neural_tb.coverage import unhit_bins

MAGIC = 0xA5
KIND_MAX = 6
MASK32 = 0xFFFFFFFF

ERR_MAGIC, ERR_KIND, ERR_SHORT, ERR_LONG, ERR_BUSY = 1, 2, 3, 4, 6
OUTCOME_NAMES = {0: "ok", ERR_MAGIC: "magic", ERR_KIND: "kind", ERR_SHORT: "short"}
OUTCOME_NAMES |= {ERR_LONG: "long", ERR_BUSY: "busy"}
LENGTH_BINS = ["0", "1", "2..15", "16+"]
# Where a packet ended: the beat (header, length, payload, drain) that carried its tlast.
END_BINS = ["header", "length", "payload", "drain"]

Beat = dict[str, int]  # one stream transfer: data, last, block


def header(kind: int, target: int, magic: int = MAGIC) -> int:
    return (magic << 24) | ((kind & 0xFF) << 16) | (target & 0xFFFF)


def length_bin(n: int) -> str:
    return "0" if n == 0 else "1" if n == 1 else "2..15" if n < 16 else "16+"


@dataclass
class Outcome:
    """A predicted pkt_done_o pulse, plus what coverage wants to know about the packet."""

    ok: int
    err: int
    kind: int
    length: int | None  # None when the packet ended before its length word
    ended_in: str  # one of END_BINS


@dataclass
class PktRxModel:
    """The parser's state machine, one beat at a time, exactly as rtl/neural_pkt_rx.sv has it
    (a bad header carrying tlast ends at once; every other bad packet ends at its tlast, with
    one outcome per packet)."""

    state: str = "header"
    kind: int = 0
    target: int = 0
    length: int = 0
    index: int = 0
    err: int = 0
    writes: list[dict[str, int]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def _done(self, ok: int, err: int, ended_in: str, length: int | None) -> None:
        self.outcomes.append(Outcome(ok, err, self.kind, length, ended_in))

    def step(self, data: int, last: int, block: int) -> None:
        data &= MASK32
        if self.state == "header":
            magic, kind = data >> 24, (data >> 16) & 0xFF
            # The RTL latches kind and target even from a header it refuses.
            self.kind, self.target = kind, data & 0xFFFF
            if magic != MAGIC or kind == 0 or kind > KIND_MAX or block:
                bad_kind = kind == 0 or kind > KIND_MAX
                err = ERR_MAGIC if magic != MAGIC else ERR_KIND if bad_kind else ERR_BUSY
                if last:
                    self._done(0, err, "header", None)
                else:
                    self.err, self.state = err, "drain"
            elif last:
                self._done(0, ERR_SHORT, "header", None)
            else:
                self.state = "length"
        elif self.state == "length":
            self.length, self.index = data, 0
            if data == 0:
                if last:
                    self._done(1, 0, "length", 0)
                self.err = ERR_LONG
                self.state = "header" if last else "drain"
            elif last:
                self._done(0, ERR_SHORT, "length", data)
                self.state = "header"
            else:
                self.state = "payload"
        elif self.state == "payload":
            self.writes.append(
                {
                    "kind": self.kind,
                    "target": self.target,
                    "len": self.length,
                    "index": self.index,
                    "data": data,
                }
            )
            at_end = self.index == (self.length - 1) & MASK32
            self.index = (self.index + 1) & MASK32
            if at_end:
                if last:
                    self._done(1, 0, "payload", self.length)
                    self.state = "header"
                else:
                    self.err, self.state = ERR_LONG, "drain"
            elif last:
                self._done(0, ERR_SHORT, "payload", self.length)
                self.state = "header"
        elif last:  # drain: drop words up to and including tlast
            self._done(0, self.err, "drain", self.length)
            self.state = "header"


class PktRxPredictor(uvm_subscriber):
    """Feeds every driven beat through the model, publishes the payload writes on `pl_out` and
    the outcomes on `pkt_out`, and samples coverage of each packet's kind, length and outcome."""

    def build_phase(self) -> None:
        self.model = PktRxModel()

        @CoverPoint(
            "neural_pkt_rx.kind", xf=lambda o: o.kind if o.ok else None, bins=[1, 2, 3, 4, 5, 6]
        )
        @CoverPoint(
            "neural_pkt_rx.length",
            xf=lambda o: length_bin(o.length) if o.ok else None,
            bins=LENGTH_BINS,
        )
        @CoverPoint(
            "neural_pkt_rx.outcome",
            xf=lambda o: OUTCOME_NAMES.get(o.err, "?"),
            bins=list(OUTCOME_NAMES.values()),
        )
        @CoverPoint(
            "neural_pkt_rx.short_at",
            xf=lambda o: o.ended_in if o.err == ERR_SHORT else None,
            bins=["header", "length", "payload"],
        )
        @CoverPoint(
            "neural_pkt_rx.bad_header_end",
            xf=lambda o: o.ended_in if o.err in (ERR_MAGIC, ERR_KIND, ERR_BUSY) else None,
            bins=["header", "drain"],
        )
        def sample(o: Outcome) -> None:
            pass

        self.sample = sample

    def write(self, item: StreamItem) -> None:
        f = item.fields
        n_writes, n_outcomes = len(self.model.writes), len(self.model.outcomes)
        self.model.step(f["data"], f["last"], f["block"])
        for w in self.model.writes[n_writes:]:
            self.pl_out.write(StreamItem("pl", w))
        for o in self.model.outcomes[n_outcomes:]:
            self.sample(o)
            self.pkt_out.write(StreamItem("pkt", {"ok": o.ok, "err": o.err}))


class PktRxEnv(BaseEnv):
    def build_phase(self) -> None:
        super().build_phase()
        dut = self.dut
        # block_i travels with each beat so that it is stable (and known) at every header.
        self.src, self.src_cfg = self.stream_agent(
            "src",
            StreamBus(
                dut,
                "s_axis_tvalid",
                "s_axis_tready",
                {"data": "s_axis_tdata", "last": "s_axis_tlast", "block": "block_i"},
            ),
            "source",
        )
        # The outputs have no ready; s_axis_tready is a constant 1, so the passive monitors use
        # it as the ready of a valid-only bus.
        self.pl, _ = self.stream_agent(
            "pl",
            StreamBus(
                dut,
                "pl_valid_o",
                "s_axis_tready",
                {
                    "kind": "pl_kind_o",
                    "target": "pl_target_o",
                    "len": "pl_len_o",
                    "index": "pl_index_o",
                    "data": "pl_data_o",
                },
            ),
            "passive",
        )
        self.pkt, _ = self.stream_agent(
            "pkt",
            StreamBus(dut, "pkt_done_o", "s_axis_tready", {"ok": "pkt_ok_o", "err": "pkt_err_o"}),
            "passive",
        )
        self.predictor = PktRxPredictor("predictor", self)
        self.pl_scoreboard = InOrderScoreboard("pl_scoreboard", self)
        self.pkt_scoreboard = InOrderScoreboard("pkt_scoreboard", self)

    def connect_phase(self) -> None:
        self.src.ap.connect(self.predictor.analysis_export)
        self.predictor.pl_out = self.pl_scoreboard.expected_export
        self.predictor.pkt_out = self.pkt_scoreboard.expected_export
        self.pl.ap.connect(self.pl_scoreboard.actual_export)
        self.pkt.ap.connect(self.pkt_scoreboard.actual_export)


class PacketMaker:
    """Random packets of every shape, as lists of beats."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _beats(self, words: list[int], block: int = 0) -> list[Beat]:
        # block_i matters only at the header beat; elsewhere it toggles at random to show that.
        return [
            {
                "data": w & MASK32,
                "last": int(i == len(words) - 1),
                "block": block if i == 0 else self.rng.getrandbits(1),
            }
            for i, w in enumerate(words)
        ]

    def _hdr(self, kind: int | None = None, magic: int = MAGIC) -> int:
        kind = self.rng.randint(1, KIND_MAX) if kind is None else kind
        return header(kind, self.rng.getrandbits(16), magic)

    def _payload(self, n: int) -> list[int]:
        return [self.rng.getrandbits(32) for _ in range(n)]

    def _tail(self, most: int = 4) -> list[int]:
        return self._payload(self.rng.randint(0, most))

    def good(self, kind: int | None = None, n: int | None = None) -> list[Beat]:
        n = self.rng.choice([0, 1, self.rng.randint(2, 15)]) if n is None else n
        return self._beats([self._hdr(kind), n, *self._payload(n)])

    def bad_magic(self, with_tail: bool = True) -> list[Beat]:
        magic = self.rng.choice([0x00, 0xFF, 0xA4, 0x5A, self.rng.getrandbits(8)])
        magic = magic if magic != MAGIC else 0x00
        tail = self._tail() if with_tail else []
        return self._beats([self._hdr(magic=magic), *tail], block=self.rng.getrandbits(1))

    def bad_kind(self, kind: int | None = None, with_tail: bool = True) -> list[Beat]:
        kind = self.rng.choice([0, 7, 8, 0xFF, self.rng.randint(7, 0xFF)]) if kind is None else kind
        tail = self._tail() if with_tail else []
        return self._beats([self._hdr(kind), *tail], block=self.rng.getrandbits(1))

    def busy(self, with_tail: bool = True) -> list[Beat]:
        tail = [self.rng.randint(0, 8), *self._tail()] if with_tail else []
        return self._beats([self._hdr(), *tail], block=1)

    def short(self, where: str) -> list[Beat]:
        if where == "header":
            return self._beats([self._hdr()])
        n = self.rng.randint(2, 20)
        if where == "length":
            return self._beats([self._hdr(), self.rng.choice([1, n, MASK32])])
        return self._beats([self._hdr(), n, *self._payload(self.rng.randint(1, n - 1))])

    def long(self, n: int | None = None) -> list[Beat]:
        n = self.rng.randint(0, 10) if n is None else n
        extra = self._payload(self.rng.randint(1, 4))
        return self._beats([self._hdr(), n, *self._payload(n), *extra])

    def random_packet(self) -> list[Beat]:
        pick = self.rng.random()
        if pick < 0.45:
            return self.good()
        if pick < 0.55:
            return self.bad_magic(self.rng.random() < 0.7)
        if pick < 0.65:
            return self.bad_kind(with_tail=self.rng.random() < 0.7)
        if pick < 0.75:
            return self.short(self.rng.choice(["header", "length", "payload"]))
        if pick < 0.85:
            return self.long()
        return self.busy(self.rng.random() < 0.7)

    def packets(self, random_count: int) -> list[list[Beat]]:
        """Every corner once (so every coverage bin is hit each run), then a random mix."""
        fixed = []
        for kind in range(1, KIND_MAX + 1):
            for n in (0, 1, self.rng.randint(2, 15), self.rng.randint(90, 110)):
                fixed.append(self.good(kind, n))
        fixed += [self.bad_magic(), self.bad_magic(with_tail=False)]
        fixed += [self.bad_kind(k) for k in (0, 7, 0xFF)] + [self.bad_kind(0, with_tail=False)]
        fixed += [self.short(w) for w in ("header", "length", "payload", "payload")]
        fixed += [self.long(0), self.long(1), self.long()]
        fixed += [self.busy(), self.busy(with_tail=False)]
        mixed = fixed + [self.random_packet() for _ in range(random_count)]
        self.rng.shuffle(mixed)
        return mixed


# Source idle probability per traffic phase: back to back, then with gaps.
IDLE_PHASES = [0.0, 0.4]


@pyuvm.test()
class PktRxTest(BaseTest):
    """Good packets of every kind and length class, and every malformed shape, back to back and
    with idle cycles; payload writes and outcomes must match the model beat for beat."""

    env_class = PktRxEnv
    coverage_prefix = "neural_pkt_rx"
    RANDOM_PACKETS = 120

    async def stimulus(self) -> None:
        dut = self.dut
        # Idle values for the inputs the driver has not touched yet (Icarus starts them at X).
        dut.s_axis_tdata.value = 0
        dut.s_axis_tlast.value = 0
        dut.block_i.value = 0
        packets = PacketMaker(self.tb.rng("packets")).packets(self.RANDOM_PACKETS)
        self.beats = sum(len(p) for p in packets)
        self.logger.info("%d packets, %d beats", len(packets), self.beats)
        half = len(packets) // 2
        for idle, part in zip(IDLE_PHASES, (packets[:half], packets[half:]), strict=True):
            self.env.src_cfg.idle_prob = idle
            await StreamSequence("seq", [b for p in part for b in p]).start(self.env.src.seqr)

    def done(self) -> bool:
        # The predictor's model has seen every driven beat once the source monitor has, so its
        # writes and outcomes are then the whole expectation.
        env, model = self.env, self.env.predictor.model
        return (
            env.src.monitor.count >= self.beats
            and env.pl.monitor.count >= len(model.writes)
            and env.pkt.monitor.count >= len(model.outcomes)
        )

    def check_phase(self) -> None:
        missing = unhit_bins(self.coverage_prefix)
        assert not missing, f"coverage bins never hit: {missing}"


@pyuvm.test()
class PktRxInjectTest(PktRxTest):
    """Corrupts one observed payload word and proves that the scoreboard flags exactly it."""

    def end_of_elaboration_phase(self) -> None:
        self.inject_bit_flip(self.env.pl.monitor, self.env.pl_scoreboard, 500, "data")

    def check_phase(self) -> None:
        super().check_phase()
        self.injector.check()
