"""Block test of neural_csr: random AXI4-Lite reads and writes (mapped, reserved and unmapped
addresses, partial strobes, instruction-fetch prot) checked against a register model built from
the register table in docs/architecture.md, plus the CTRL pulses and the settings outputs."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pyuvm
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotb_coverage.coverage import CoverPoint
from cocotbext.axi import AxiProt, AxiResp
from pyuvm import uvm_analysis_port, uvm_component

from verif.neural_tb import BaseEnv, BaseTest, Forward, InOrderScoreboard, StreamItem
from verif.neural_tb.axi import AxiLiteAgent
from verif.neural_tb.coverage import unhit_bins

MASK32 = 0xFFFFFFFF
OKAY, SLVERR = int(AxiResp.OKAY), int(AxiResp.SLVERR)
RESP_NAMES = {OKAY: "okay", SLVERR: "slverr"}

# The register table of docs/architecture.md ("Registers (AXI4-Lite, byte addresses)").
ID_VALUE = 0x4E524C31
VERSION_VALUE = 0x0001_0001
REG_NAMES = {
    0x00: "ID",
    0x04: "VERSION",
    0x08: "CTRL",
    0x0C: "STATUS",
    0x10: "ERROR",
    0x14: "CAPS",
    0x18: "EXT_BASE",
    0x20: "CYCLES",
    0x24: "EVENTS",
    0x28: "ACTIVE",
    0x2C: "STALLS",
    0x30: "CLASS",
    0x34: "FORWARDS",
}
REG_ADDR = {name: addr for addr, name in REG_NAMES.items()}
# 0x1C is a hole inside the map; everything from 0x38 up to the end of the 4 KiB window is
# unmapped. Both read as zero and ignore writes.
ADDR_BINS = [*REG_NAMES.values(), "reserved_1c", "unmapped"]
COUNTERS = {
    "CYCLES": "cycles_i",
    "EVENTS": "events_i",
    "ACTIVE": "active_i",
    "STALLS": "stalls_i",
    "CLASS": "class_i",
    "FORWARDS": "fwd_i",
}
# Every status input and its width: the driver randomises them, the monitor snapshots them.
STATUS_INPUTS = {"busy_i": 1, "done_i": 1, "error_i": 1, "err_code_i": 4}
STATUS_INPUTS |= {sig: 32 for sig in COUNTERS.values()}
STRB_BINS = ["full", "with_byte0", "without_byte0"]


def addr_bin(addr: int) -> str:
    word = addr & 0xFFC
    if word in REG_NAMES:
        return REG_NAMES[word]
    return "reserved_1c" if word == 0x1C else "unmapped"


def strb_bin(strb: int) -> str:
    return "full" if strb == 0xF else "with_byte0" if strb & 1 else "without_byte0"


@dataclass
class CsrModel:
    """The register file as docs/architecture.md describes it: RO registers mirror the inputs,
    CTRL is write-only (reads 0) and acts only when byte 0 is written, EXT_BASE keeps address
    bits [31:12] (per written byte), and an access with prot[2] gets SLVERR, reads 0 and changes
    nothing."""

    caps: int
    irq_en: int = 0
    ext_base: int = 0  # the register value, bits [11:0] zero
    pulses: list[dict[str, int]] = field(default_factory=list)

    def write(self, addr: int, data: int, strb: int, prot: int) -> int:
        """Applies one write; returns its bresp."""
        if prot & 4:
            return SLVERR
        word = addr & 0xFFC
        if word == REG_ADDR["CTRL"] and strb & 1:
            self.irq_en = (data >> 2) & 1
            if data & 3:
                self.pulses.append({"start": data & 1, "clear": (data >> 1) & 1})
        elif word == REG_ADDR["EXT_BASE"]:
            mask = sum(0xFF << (8 * b) for b in range(4) if strb >> b & 1) & 0xFFFFF000
            self.ext_base = (self.ext_base & ~mask | data & mask) & MASK32
        return OKAY

    def read(self, addr: int, prot: int, inputs: dict[str, int]) -> tuple[int, int]:
        """Predicts (rdata, rresp) of one read, given the status inputs when it was accepted."""
        if prot & 4:
            return 0, SLVERR
        name = REG_NAMES.get(addr & 0xFFC)
        if name in COUNTERS:
            return inputs[COUNTERS[name]], OKAY
        value = {
            "ID": ID_VALUE,
            "VERSION": VERSION_VALUE,
            "STATUS": inputs["busy_i"] | inputs["done_i"] << 1 | inputs["error_i"] << 2,
            "ERROR": inputs["err_code_i"],
            "CAPS": self.caps & MASK32,
            "EXT_BASE": self.ext_base,
        }.get(name or "", 0)  # CTRL (write-only), the hole and unmapped space read as 0
        return value, OKAY


class CsrItem(StreamItem):
    """A bus transaction or an output event; `inputs` is the status-input snapshot of a read
    (kept out of `fields` so that the scoreboard compares only what the DUT answered)."""

    def __init__(self, name: str, fields: dict[str, int]) -> None:
        super().__init__(name, fields)
        self.inputs: dict[str, int] = {}
        self.prot = 0


class StatusDriver(uvm_component):
    """Gives the status inputs new random values on random cycles, so that reads see them
    changing under the bus traffic."""

    CHANGE_PROB = 0.5

    def build_phase(self) -> None:
        self.dut = self.parent.dut
        self.rng = self.parent.tb.rng("status")

    def drive_random(self) -> None:
        for sig, width in STATUS_INPUTS.items():
            # Corner values now and then: all ones and zero matter for the 32-bit counters.
            pick = self.rng.random()
            value = 0 if pick < 0.1 else (1 << width) - 1 if pick < 0.2 else None
            getattr(self.dut, sig).value = self.rng.getrandbits(width) if value is None else value

    async def run_phase(self) -> None:
        self.drive_random()  # known values from time 0 (Icarus would start at X)
        while True:
            await RisingEdge(self.dut.clk_i)
            if self.rng.random() < self.CHANGE_PROB:
                self.drive_random()


class CsrMonitor(uvm_component):
    """Watches the AXI4-Lite channels and the outputs once per cycle.

    Publishes on `wr_cmd_ap` a write as soon as its address and data have both been accepted
    (before the DUT acts on it, so that predictions precede the effects), on `wr_ap` its
    response, on `rd_cmd_ap` a read with the status inputs the DUT sampled when it accepted the
    address, on `rd_ap` the read data and response, on `pulse_ap` every cycle with start_o or
    clear_o high, and on `setting_ap` every change of irq_en_o or ext_base_o."""

    def build_phase(self) -> None:
        self.dut = self.parent.dut
        for port in ("wr_cmd_ap", "wr_ap", "rd_cmd_ap", "rd_ap", "pulse_ap", "setting_ap"):
            setattr(self, port, uvm_analysis_port(port, self))
        self.count = 0  # read responses seen (the items error injection may corrupt)
        self.writes = 0
        self.pulses = 0
        self.tamper: Callable[[int, CsrItem], None] | None = None  # error-injection hook

    async def run_phase(self) -> None:
        d = self.dut
        aw: list[tuple[int, int]] = []
        w: list[tuple[int, int]] = []
        wr_open: list[int] = []
        ar: list[int] = []
        setting = (0, 0)
        while True:
            # Values seen in ReadOnly after an edge hold until the next edge, where the DUT
            # samples them: a valid/ready pair high here is a handshake at that next edge.
            await RisingEdge(d.clk_i)
            await ReadOnly()
            if int(d.rst_i.value):
                for pending in (aw, w, wr_open, ar):
                    pending.clear()
                continue
            if int(d.s_axil_awvalid.value) and int(d.s_axil_awready.value):
                aw.append((int(d.s_axil_awaddr.value), int(d.s_axil_awprot.value)))
            if int(d.s_axil_wvalid.value) and int(d.s_axil_wready.value):
                w.append((int(d.s_axil_wdata.value), int(d.s_axil_wstrb.value)))
            while aw and w:
                (addr, prot), (data, strb) = aw.pop(0), w.pop(0)
                item = CsrItem("wr_cmd", {"addr": addr, "data": data, "strb": strb})
                item.prot = prot
                wr_open.append(addr)
                self.wr_cmd_ap.write(item)
            if int(d.s_axil_bvalid.value) and int(d.s_axil_bready.value):
                addr = wr_open.pop(0) if wr_open else -1
                self.writes += 1
                self.wr_ap.write(CsrItem("wr", {"addr": addr, "resp": int(d.s_axil_bresp.value)}))
            if int(d.s_axil_arvalid.value) and int(d.s_axil_arready.value):
                addr = int(d.s_axil_araddr.value)
                item = CsrItem("rd_cmd", {"addr": addr})
                item.prot = int(d.s_axil_arprot.value)
                item.inputs = {sig: int(getattr(d, sig).value) for sig in STATUS_INPUTS}
                ar.append(addr)
                self.rd_cmd_ap.write(item)
            if int(d.s_axil_rvalid.value) and int(d.s_axil_rready.value):
                addr = ar.pop(0) if ar else -1
                fields = {"addr": addr, "data": int(d.s_axil_rdata.value)}
                item = CsrItem("rd", fields | {"resp": int(d.s_axil_rresp.value)})
                if self.tamper is not None:
                    self.tamper(self.count, item)
                self.count += 1
                self.rd_ap.write(item)
            start, clear = int(d.start_o.value), int(d.clear_o.value)
            if start or clear:
                self.pulses += 1
                self.pulse_ap.write(CsrItem("pulse", {"start": start, "clear": clear}))
            now = (int(d.irq_en_o.value), int(d.ext_base_o.value) << 12)
            if now != setting:
                setting = now
                self.setting_ap.write(CsrItem("set", {"irq_en": now[0], "ext_base": now[1]}))


class CsrPredictor(uvm_component):
    """Runs the register model on every observed command and publishes the expected write and
    read responses, pulses and settings changes; samples the coverage."""

    def build_phase(self) -> None:
        caps = int(self.parent.tb.params.get("Caps", 0))
        self.model = CsrModel(caps)
        self.wr_cmd = Forward("wr_cmd", self, self._on_write)
        self.rd_cmd = Forward("rd_cmd", self, self._on_read)

        @CoverPoint("neural_csr.read_addr", xf=lambda a, p: addr_bin(a), bins=ADDR_BINS)
        @CoverPoint("neural_csr.read_resp", xf=lambda a, p: RESP_NAMES[p], bins=["okay", "slverr"])
        def sample_read(addr: int, resp: int) -> None:
            pass

        @CoverPoint("neural_csr.write_addr", xf=lambda a, r, s: addr_bin(a), bins=ADDR_BINS)
        @CoverPoint(
            "neural_csr.write_resp", xf=lambda a, r, s: RESP_NAMES[r], bins=["okay", "slverr"]
        )
        @CoverPoint("neural_csr.write_strb", xf=lambda a, r, s: strb_bin(s), bins=STRB_BINS)
        def sample_write(addr: int, resp: int, strb: int) -> None:
            pass

        @CoverPoint("neural_csr.ctrl_bits", xf=lambda bits: bits, bins=list(range(8)))
        def sample_ctrl(bits: int) -> None:
            pass

        self.sample_read, self.sample_write, self.sample_ctrl = (
            sample_read,
            sample_write,
            sample_ctrl,
        )

    def _on_write(self, item: CsrItem) -> None:
        f = item.fields
        model = self.model
        before = (model.irq_en, model.ext_base, len(model.pulses))
        resp = model.write(f["addr"], f["data"], f["strb"], item.prot)
        self.sample_write(f["addr"], resp, f["strb"])
        if resp == OKAY and addr_bin(f["addr"]) == "CTRL" and f["strb"] & 1:
            self.sample_ctrl(f["data"] & 7)
        self.wr_out.write(CsrItem("wr", {"addr": f["addr"], "resp": resp}))
        for p in model.pulses[before[2] :]:
            self.pulse_out.write(CsrItem("pulse", p))
        if (model.irq_en, model.ext_base) != before[:2]:
            fields = {"irq_en": model.irq_en, "ext_base": model.ext_base}
            self.setting_out.write(CsrItem("set", fields))

    def _on_read(self, item: CsrItem) -> None:
        addr = item.fields["addr"]
        data, resp = self.model.read(addr, item.prot, item.inputs)
        self.sample_read(addr, resp)
        self.rd_out.write(CsrItem("rd", {"addr": addr, "data": data, "resp": resp}))


class CsrEnv(BaseEnv):
    def build_phase(self) -> None:
        super().build_phase()
        self.axil = AxiLiteAgent("axil", self, self.dut)
        self.axil.master.write_if.log.setLevel("WARNING")
        self.axil.master.read_if.log.setLevel("WARNING")
        self.status = StatusDriver("status", self)
        self.monitor = CsrMonitor("monitor", self)
        self.predictor = CsrPredictor("predictor", self)
        self.rd_scoreboard = InOrderScoreboard("rd_scoreboard", self)
        self.wr_scoreboard = InOrderScoreboard("wr_scoreboard", self)
        self.pulse_scoreboard = InOrderScoreboard("pulse_scoreboard", self)
        self.setting_scoreboard = InOrderScoreboard("setting_scoreboard", self)

    def connect_phase(self) -> None:
        m, p = self.monitor, self.predictor
        m.wr_cmd_ap.connect(p.wr_cmd.analysis_export)
        m.rd_cmd_ap.connect(p.rd_cmd.analysis_export)
        p.wr_out = self.wr_scoreboard.expected_export
        p.rd_out = self.rd_scoreboard.expected_export
        p.pulse_out = self.pulse_scoreboard.expected_export
        p.setting_out = self.setting_scoreboard.expected_export
        m.wr_ap.connect(self.wr_scoreboard.actual_export)
        m.rd_ap.connect(self.rd_scoreboard.actual_export)
        m.pulse_ap.connect(self.pulse_scoreboard.actual_export)
        m.setting_ap.connect(self.setting_scoreboard.actual_export)


@dataclass
class Access:
    """One register access of the stimulus: a read, or a write of `data` (only the bytes from
    `offset` for `length`, which sets the strobes); `gap` idle cycles before it."""

    kind: str  # "read" or "write"
    addr: int
    data: int = 0
    offset: int = 0
    length: int = 4
    prot: int = 0
    gap: int = 0


class AccessMaker:
    """Every address bin read and written, every CTRL bit pattern, strobe class and prot, then a
    random mix of mapped and unmapped accesses."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def addr(self) -> int:
        pick = self.rng.random()
        if pick < 0.75:
            return self.rng.choice(list(REG_NAMES))
        if pick < 0.85:
            return 0x1C
        return self.rng.randrange(0x38, 0x1000, 4)

    def prot(self) -> int:
        # Instruction fetch now and then; bits 0 and 1 carry no meaning and vary freely.
        return self.rng.getrandbits(2) | (4 if self.rng.random() < 0.1 else 0)

    def lanes(self) -> tuple[int, int]:
        """(offset, length) of a partial access now and then: contiguous byte lanes, as the
        master makes them. An offset puts byte-address bits into awaddr/araddr, which the DUT
        must ignore."""
        if self.rng.random() < 0.3:
            offset = self.rng.randrange(4)
            return offset, self.rng.randint(1, 4 - offset)
        return 0, 4

    def write(
        self, addr: int | None = None, data: int | None = None, prot: int | None = None
    ) -> Access:
        offset, length = self.lanes()
        return Access(
            "write",
            self.addr() if addr is None else addr,
            self.rng.getrandbits(32) if data is None else data,
            offset,
            length,
            self.prot() if prot is None else prot,
        )

    def read(self, addr: int | None = None, prot: int | None = None) -> Access:
        offset, length = self.lanes()
        return Access(
            "read",
            self.addr() if addr is None else addr,
            offset=offset,
            length=length,
            prot=self.prot() if prot is None else prot,
        )

    def accesses(self, random_count: int) -> list[Access]:
        fixed: list[Access] = []
        addrs = [*REG_NAMES, 0x1C, self.rng.randrange(0x38, 0x1000, 4)]
        for a in addrs:
            fixed += [
                self.read(a, 0),
                self.write(a, prot=0),
                self.read(a, 4),
                self.write(a, prot=4),
            ]
        for bits in range(8):
            fixed.append(Access("write", REG_ADDR["CTRL"], bits | self.rng.getrandbits(29) << 3))
        ext = REG_ADDR["EXT_BASE"]
        for offset, length in ((0, 4), (0, 1), (1, 2), (3, 1), (2, 2)):
            fixed.append(Access("write", ext, self.rng.getrandbits(32), offset, length))
            fixed.append(self.read(ext, 0))
        fixed.append(Access("write", REG_ADDR["CTRL"], 7, offset=1, length=3))  # no byte 0
        mix = [
            self.read() if self.rng.random() < 0.5 else self.write() for _ in range(random_count)
        ]
        out = fixed + mix
        self.rng.shuffle(out)
        return out


@pyuvm.test()
class CsrTest(BaseTest):
    """Random register traffic back to back and with gaps, status inputs changing underneath;
    every read, write response, pulse and settings change must match the register model."""

    env_class = CsrEnv
    coverage_prefix = "neural_csr"
    RANDOM_ACCESSES = 300

    async def stimulus(self) -> None:
        accesses = AccessMaker(self.tb.rng("accesses")).accesses(self.RANDOM_ACCESSES)
        gaps = self.tb.rng("gaps")
        half = len(accesses) // 2
        # First half back to back, second half with random idle cycles between accesses.
        for i, acc in enumerate(accesses):
            acc.gap = 0 if i < half else gaps.choice([0, 1, 2, 5])
        self.expected_reads = sum(a.kind == "read" for a in accesses)
        self.expected_writes = len(accesses) - self.expected_reads
        self.logger.info("%d reads and %d writes", self.expected_reads, self.expected_writes)
        axil = self.env.axil.master
        for acc in accesses:
            if acc.gap:
                await ClockCycles(self.clk, acc.gap)
            if acc.kind == "read":
                await axil.read(acc.addr + acc.offset, acc.length, prot=AxiProt(acc.prot))
            else:
                raw = (acc.data & MASK32).to_bytes(4, "little")[
                    acc.offset : acc.offset + acc.length
                ]
                await axil.write(acc.addr + acc.offset, raw, prot=AxiProt(acc.prot))

    def done(self) -> bool:
        m = self.env.monitor
        return m.count >= self.expected_reads and m.writes >= self.expected_writes

    def check_phase(self) -> None:
        missing = unhit_bins(self.coverage_prefix)
        assert not missing, f"coverage bins never hit: {missing}"


@pyuvm.test()
class CsrInjectTest(CsrTest):
    """Corrupts one observed read and proves that the scoreboard flags exactly it."""

    def end_of_elaboration_phase(self) -> None:
        # Over 35 fixed reads plus about half of the random accesses: item 120 always exists.
        self.inject_bit_flip(self.env.monitor, self.env.rd_scoreboard, 120, "data")

    def check_phase(self) -> None:
        super().check_phase()
        self.injector.check()
