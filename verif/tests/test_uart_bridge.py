"""Block test of uart_axi_bridge through its serial pins, with the host program's protocol code.

A register stub (cocotbext-axi AxiLiteSlave) answers the AXI4-Lite side and fails accesses to
the top of the address space; the host-to-core stream is watched by a stream agent with random
backpressure; the core-to-host stream is fed by a cocotbext-axi AxiStreamSource with pauses.
Every reply and every streamed word is compared with a reference model in scoreboards."""

from __future__ import annotations

import logging

import pyuvm
from cocotb.triggers import ClockCycles, RisingEdge
from cocotb_coverage.coverage import CoverPoint
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteSlave,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSource,
)
from pyuvm import uvm_analysis_port, uvm_component

from fpga import protocol as proto
from fpga.uart_model import UartModel
from verif.neural_tb import (
    BaseEnv,
    BaseTest,
    ErrorInjector,
    InOrderScoreboard,
    StreamAgent,
    StreamAgentConfig,
    StreamBus,
    StreamItem,
)

ERR_BASE = 0xF00  # the register stub fails every access at or above this address


class RegisterStub:
    """AXI4-Lite target: 32-bit registers that read back what was written; errors on high
    addresses (the slave model turns the exception into SLVERR)."""

    def __init__(self) -> None:
        self.regs: dict[int, int] = {}

    async def write(self, address: int, data: bytes) -> None:
        if address >= ERR_BASE:
            raise ValueError("no register here")
        self.regs[address] = int.from_bytes(data, "little")

    async def read(self, address: int, length: int) -> bytes:
        if address >= ERR_BASE:
            raise ValueError("no register here")
        return self.regs.get(address, 0).to_bytes(length, "little")


class ReplyMonitor(uvm_component):
    """Publishes the decoded result of every command as seen on the bridge's transmit pin."""

    def build_phase(self) -> None:
        self.ap = uvm_analysis_port("ap", self)
        self.count = 0
        self.tamper = None

    def publish(self, fields: dict[str, int]) -> None:
        item = StreamItem(f"reply_{self.count}", fields)
        if self.tamper is not None:
            self.tamper(self.count, item)
        self.count += 1
        self.ap.write(item)


COMMANDS = ["ping", "write", "read", "axi_error", "send", "send_chunked", "get", "garbage",
            "timeout", "framing"]  # fmt: skip


@CoverPoint("uart_bridge.command", xf=lambda kind, n: kind, bins=COMMANDS)
@CoverPoint(
    "uart_bridge.words",
    xf=lambda kind, n: "none" if n == 0 else "1" if n == 1 else "2..16" if n <= 16 else ">16",
    bins=["1", "2..16", ">16"],
)
def sample_command(kind: str, n: int) -> None:
    pass


@CoverPoint("uart_bridge.get_split", xf=lambda gets: min(gets, 3), bins=[1, 2, 3])
def sample_get_split(gets: int) -> None:
    """GET commands needed for one output packet (more than one when the core pauses)."""


class UartBridgeEnv(BaseEnv):
    def build_phase(self) -> None:
        super().build_phase()
        dut, p = self.dut, self.tb.params
        div = p["ClkHz"] // p["Baud"]
        self.uart = UartModel(dut.uart_rx_i, dut.uart_tx_o, div * 10_000)  # 10 ns clock
        self.regs = RegisterStub()
        self.snk_cfg = StreamAgentConfig(
            StreamBus(
                dut,
                "m_axis_tvalid",
                "m_axis_tready",
                {"data": "m_axis_tdata", "last": "m_axis_tlast"},
            ),
            dut.clk_i,
            dut.rst_i,
            role="sink",
            rng=self.tb.rng("snk"),
        )
        pyuvm.ConfigDB().set(self, "snk", "cfg", self.snk_cfg)
        self.snk = StreamAgent("snk", self)
        self.replies = ReplyMonitor("replies", self)
        self.reply_sb = InOrderScoreboard("reply_sb", self)
        self.stream_sb = InOrderScoreboard("stream_sb", self)

    def connect_phase(self) -> None:
        self.replies.ap.connect(self.reply_sb.actual_export)
        self.snk.ap.connect(self.stream_sb.actual_export)

    def start_of_simulation_phase(self) -> None:
        dut = self.dut
        for name in ("cocotb.uart_axi_bridge", "cocotbext.axi"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self.axil = AxiLiteSlave(
            AxiLiteBus.from_prefix(dut, "m_axil"), dut.clk_i, dut.rst_i, target=self.regs
        )
        self.src = AxiStreamSource(
            AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk_i, dut.rst_i, byte_lanes=1
        )
        for log in (self.axil.write_if.log, self.axil.read_if.log, self.src.log):
            log.setLevel(logging.WARNING)


# (sender skew, sink backpressure, core-to-host pause probability, idle bits between bytes)
PHASES = [(0.0, 0.0, 0.0, 0), (0.02, 0.5, 0.3, 0), (-0.02, 0.9, 0.6, 3), (0.0, 0.3, 0.9, 1)]


@pyuvm.test()
class UartBridgeTest(BaseTest):
    """Random commands of every kind, garbage and broken frames, in four traffic phases."""

    env_class = UartBridgeEnv
    coverage_prefix = "uart_bridge"
    OPS_PER_PHASE = 40

    async def cmd(self, op) -> dict[str, int]:
        """Runs a command or an operation; returns its result as scoreboard fields."""
        env = self.env
        try:
            value = await proto.arun(op, env.uart.write, env.uart.read_exact)
        except proto.NakError as nak:
            return {"nak": nak.code}
        if isinstance(value, int):
            return {"ok": value}
        return {"ok": 0 if value in (None, b"") else 1}

    def expect(self, fields: dict[str, int]) -> None:
        self.env.reply_sb.expected_export.write(StreamItem("expected", fields))

    def observe(self, fields: dict[str, int]) -> None:
        self.env.replies.publish(fields)

    async def one_op(self, rng, ref: dict[int, int]) -> None:
        env = self.env
        kind = rng.choice(COMMANDS)
        self.logger.debug("command %s", kind)
        n = 0
        if kind == "ping":
            self.expect({"ok": 1})
            self.observe(await self.cmd(proto.ping()))
        elif kind in ("write", "read"):
            addr = rng.choice(list(ref) or [0]) if kind == "read" else rng.randrange(0, 0x800, 4)
            if kind == "write":
                data = rng.getrandbits(32)
                ref[addr] = data
                self.expect({"ok": 0})
                self.observe(await self.cmd(proto.write(addr, data)))
            else:
                self.expect({"ok": ref.get(addr, 0)})
                self.observe(await self.cmd(proto.read(addr)))
        elif kind == "axi_error":
            addr = rng.randrange(ERR_BASE, 0x1000, 4)
            op = proto.write(addr, rng.getrandbits(32)) if rng.random() < 0.5 else proto.read(addr)
            self.expect({"nak": proto.ERR_RESP | 2})
            self.observe(await self.cmd(op))
        elif kind in ("send", "send_chunked"):
            n = rng.choice([1, 2, rng.randint(3, 16), rng.randint(17, 48)])
            words = [rng.getrandbits(32) for _ in range(n)]
            chunk = rng.randint(1, max(1, n - 1)) if kind == "send_chunked" else n
            for i, w in enumerate(words):
                last = int(i == n - 1)
                env.stream_sb.expected_export.write(StreamItem("w", {"data": w, "last": last}))
            self.expected_stream += n
            self.expect({"ok": 0})
            self.observe(await self._send(words, chunk))
        elif kind == "get":
            n = rng.choice([1, 2, rng.randint(3, 16), rng.randint(17, 40)])
            words = [rng.getrandbits(32) for _ in range(n)]
            for w in words:
                self.expect({"ok": w})
            split = rng.random() < 0.3 and n > 1
            if split:
                # Pauses longer than a word record's reply (5 bytes) plus the bridge's GET wait:
                # the packet then needs several GETs.
                p = self.tb.params
                pause = 50 * (p["ClkHz"] // p["Baud"]) + p["WaitCycles"] + 40
                env.src.set_pause_generator(_long_pauses(pause))
            await env.src.send(AxiStreamFrame(tdata=words))
            got, gets = await self._receive()
            if split:
                env.src.set_pause_generator(self.phase_pauses)
            sample_get_split(gets)
            for w in got:
                self.observe({"ok": w})
        elif kind == "garbage":
            byte = rng.choice([b for b in range(256) if b not in (0x50, 0x57, 0x52, 0x53, 0x47)])
            await env.uart.write(bytes([byte]))
            self.expect({"nak": proto.ERR_CMD})
            self.observe(await self._nak_reply())
        elif kind == "timeout":
            cmd = rng.choice([proto.write(0, 0), proto.read(0), proto.send([1, 2]), proto.get(1)])
            cut = rng.randint(1, len(cmd.request) - 1)
            if cmd.request[0] == proto.CMD_SEND and cut >= 8:
                # The first word was complete, so it reached the core before the timeout.
                env.stream_sb.expected_export.write(StreamItem("w", {"data": 1, "last": 0}))
                self.expected_stream += 1
            await env.uart.write(cmd.request[:cut])
            self.expect({"nak": proto.ERR_TIMEOUT})
            self.observe(await self._nak_reply())
        elif kind == "framing":
            await env.uart.write_bad_frame(rng.getrandbits(8))
            await ClockCycles(self.dut.clk_i, 4)
            self.expect({"ok": 1})
            self.observe({"ok": int(self.dut.link_err_o.value)})
            # PING answers and clears the sticky link error.
            self.expect({"ok": 1})
            self.observe(await self.cmd(proto.ping()))
            await RisingEdge(self.dut.clk_i)
            self.expect({"ok": 0})
            self.observe({"ok": int(self.dut.link_err_o.value)})
        sample_command(kind, n)

    async def _send(self, words, chunk):
        """SEND in chunks of `chunk` words; the final chunk carries tlast."""
        for start in range(0, len(words), chunk):
            result = await self.cmd(
                proto.send(words[start : start + chunk], start + chunk >= len(words))
            )
            if result != {"ok": 0}:
                return result
        return {"ok": 0}

    async def _receive(self) -> tuple[list[int], int]:
        words: list[int] = []
        for gets in range(1, 200):
            uart = self.env.uart
            part, last = await proto.arun(proto.get(), uart.write, uart.read_exact)
            words += part
            if last:
                return words, gets
        raise AssertionError(f"no tlast after 200 GETs ({len(words)} words)")

    async def _nak_reply(self) -> dict[str, int]:
        reply = await self.env.uart.read_exact(2)
        if reply[0] != proto.NAK:
            return {"bad_reply": reply[0]}
        return {"nak": reply[1]}

    async def stimulus(self) -> None:
        rng = self.tb.rng("ops")
        env = self.env
        self.expected_stream = 0
        ref: dict[int, int] = {}
        await ClockCycles(self.dut.clk_i, 4)
        for skew, stall, pause, gap in PHASES:
            env.uart.skew = skew
            env.uart.gap_bits = gap
            env.snk_cfg.backpressure_prob = stall
            self.phase_pauses = _pauses(self.tb.rng(f"pause{pause}"), pause)
            env.src.set_pause_generator(self.phase_pauses)
            for _ in range(self.OPS_PER_PHASE):
                await self.one_op(rng, ref)
        assert not env.uart.received, f"stray bytes from the bridge: {env.uart.flush().hex()}"
        assert env.uart.frame_errors == 0, "the bridge sent a frame with a bad stop bit"

    def done(self) -> bool:
        return self.env.snk.monitor.count >= self.expected_stream


def _pauses(rng, prob: float):
    """Pause generator for the core-to-host source: runs of pause cycles, some longer than the
    bridge's GET wait, so that a packet needs more than one GET."""
    while True:
        if prob and rng.random() < prob * 0.25:
            for _ in range(rng.choice([3, 20, 400])):
                yield True
        yield False


def _long_pauses(cycles: int):
    """One beat, then `cycles` pause cycles, repeatedly."""
    while True:
        yield False
        for _ in range(cycles):
            yield True


@pyuvm.test()
class UartBridgeInjectTest(UartBridgeTest):
    """Corrupts one observed reply and proves that the reply scoreboard flags exactly it."""

    OPS_PER_PHASE = 12

    def end_of_elaboration_phase(self) -> None:
        victim = self.tb.rng("victim").randrange(30)
        self.logger.info("corrupting reply %d", victim)
        self.injector = ErrorInjector(
            self.env.replies,
            self.env.reply_sb,
            victim,
            lambda item: item.fields.__setitem__("x", 1),
        )

    def check_phase(self) -> None:
        self.injector.check()
