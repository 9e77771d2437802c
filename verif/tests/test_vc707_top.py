"""Board-level test of vc707_top: only its pins are driven. The host program's protocol code
(fpga.protocol) talks to the UART pins through a bit-level model, loads a model package, runs
real CIFAR-10 images and compares class and logits with the golden model."""

from __future__ import annotations

import os
import time

import cocotb
import pyuvm
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from pyuvm import uvm_analysis_port, uvm_component

from fpga import protocol as proto
from fpga.uart_model import UartModel
from golden.core_image import image_packet, model_packets
from verif.core_model import compile_for, expectations, get_package, load_images, result_compare
from verif.neural_tb import BaseEnv, BaseTest, InOrderScoreboard, StreamItem

CORE_PARAMS = ("Lanes", "MaxC", "MaxSideLog2", "AccW", "WRows", "EngWRows", "ThRows", "Slots",
               "ProgOps", "Classes", "ClsHwLog2", "ClsAccW")  # fmt: skip
LED_BUSY, LED_DONE, LED_ERROR, LED_LINK = 1, 2, 3, 4


class ResultMonitor(uvm_component):
    """Publishes each inference result read back over the UART."""

    def build_phase(self) -> None:
        self.ap = uvm_analysis_port("ap", self)
        self.count = 0
        self.tamper = None

    def publish(self, fields: dict) -> None:
        item = StreamItem(f"result_{self.count}", fields)
        if self.tamper is not None:
            self.tamper(self.count, item)
        self.count += 1
        self.ap.write(item)


class BoardEnv(BaseEnv):
    def build_phase(self) -> None:
        super().build_phase()
        p = self.tb.params
        div = p["ClkHz"] // p["Baud"]
        self.uart = UartModel(self.dut.uart_rx_i, self.dut.uart_tx_o, div * 10_000)  # 10 ns
        self.results = ResultMonitor("results", self)
        self.scoreboard = InOrderScoreboard("scoreboard", self, compare=result_compare)

    def connect_phase(self) -> None:
        self.results.ap.connect(self.scoreboard.actual_export)


@pyuvm.test()
class Vc707TopImageTest(BaseTest):
    """PING, core ID and CAPS, garbage answered with a NAK, model load, then images; LEDs."""

    env_class = BoardEnv

    @property
    def clk(self):
        return self.dut.sys_clk_p_i

    @property
    def rst(self):
        return self.dut.cpu_reset_i

    def build_phase(self) -> None:
        super().build_phase()
        extra = self.tb.extra
        n = int(os.environ.get("IMAGES") or extra.get("images", 1))
        self.images, self.labels = load_images(n, os.environ.get("DATA") or None)
        self.pkg = get_package(os.environ.get("MODEL") or extra["model"], self.images)
        core_params = {k: v for k, v in self.tb.params.items() if k in CORE_PARAMS}
        # The board top fixes ExtMem = 0: every layer's weights go on chip.
        self.core_image = compile_for(self.pkg, {**core_params, "ExtMem": 0})
        self.expected = expectations(self.pkg, self.core_image, self.images, self.labels)

    async def run_phase(self) -> None:
        # The differential pair: the negative leg runs in antiphase.
        Clock(self.dut.sys_clk_n_i, self.CLK_PERIOD_NS, unit="ns").start(start_high=False)
        await super().run_phase()

    async def progress(self) -> None:
        """Logs the sequencer state and the simulation speed every 200k cycles."""
        core = self.dut.u_core
        last_wall, last_ns = time.perf_counter(), cocotb.utils.get_sim_time("ns")
        while True:
            await ClockCycles(self.clk, 200_000)
            wall, now = time.perf_counter(), cocotb.utils.get_sim_time("ns")
            rate = (now - last_ns) / self.CLK_PERIOD_NS / max(wall - last_wall, 1e-9)
            self.logger.info("state %d, op %d, error %d; %.0f cycles/s", int(core.state_q.value),
                             int(core.pc_q.value), int(core.err_code_q.value), rate)  # fmt: skip
            last_wall, last_ns = wall, now

    async def watch_core_input(self) -> None:
        """Records every word the core takes from the bridge (data, last), to check the UART
        path against the packets the host sent."""
        dut = self.dut
        self.core_input: list[tuple[int, int]] = []
        while True:
            await RisingEdge(dut.in_tvalid)
            while True:
                await ReadOnly()
                if int(dut.in_tvalid.value) and int(dut.in_tready.value):
                    self.core_input.append((int(dut.in_tdata.value), int(dut.in_tlast.value)))
                    break
                await RisingEdge(self.clk)
            await RisingEdge(self.clk)

    def check_core_input(self, packets: list[list[int]]) -> None:
        sent = [(w, int(i == len(p) - 1)) for p in packets for i, w in enumerate(p)]
        got = self.core_input
        bad = [i for i, (a, b) in enumerate(zip(sent, got, strict=False)) if a != b]
        assert len(got) == len(sent) and not bad, (
            f"core took {len(got)} words, host sent {len(sent)}; first differences at "
            f"{[(i, sent[i], got[i]) for i in bad[:4]]}"
        )
        self.core_input.clear()

    async def link(self, op):
        return await proto.arun(op, self.env.uart.write, self.env.uart.read_exact)

    async def stimulus(self) -> None:
        dut, env = self.dut, self.env
        cocotb.start_soon(self.progress())
        cocotb.start_soon(self.watch_core_input())
        await ClockCycles(self.clk, 32)  # the top stretches the button reset
        info = await self.link(proto.check_core())
        caps = info["caps"]
        assert caps & 0xFF == self.tb.params["Lanes"], f"CAPS 0x{caps:08x}"
        self.logger.info("core ID 0x%08x, version 0x%08x, CAPS 0x%08x", info["id"],
                         info["version"], caps)  # fmt: skip

        await env.uart.write(bytes([0xEE]))
        reply = await env.uart.read_exact(2)
        assert reply == bytes([proto.NAK, proto.ERR_CMD]), f"garbage answered with {reply.hex()}"

        packets = model_packets(self.core_image)
        t0 = cocotb.utils.get_sim_time("ns")
        for i, pkt in enumerate(packets):
            self.logger.info("packet %d of %d: %d words", i + 1, len(packets), len(pkt))
            await self.link(proto.send_packet(pkt))
        status = await self.link(proto.read(proto.REG_STATUS))
        assert not status & proto.STATUS_ERROR, f"core refused the model (STATUS 0x{status:x})"
        self.check_core_input(packets)
        load_us = (cocotb.utils.get_sim_time("ns") - t0) / 1e3
        words = sum(map(len, packets))
        self.logger.info("model loaded: %d words in %.0f us of simulated time", words, load_us)

        for img, exp in zip(self.images, self.expected, strict=True):
            env.scoreboard.expected_export.write(
                StreamItem("expected", {"class": exp.cls, "logits": tuple(exp.logits)})
            )
            packet = image_packet(img)
            cls, logits, cycles = await self.link(proto.infer(packet))
            self.check_core_input([packet])
            self.logger.info("image (label %d): class %d, golden %d, %d core cycles",
                             exp.label, cls, exp.cls, cycles)  # fmt: skip
            env.results.publish({"class": cls, "logits": tuple(logits)})
            await RisingEdge(self.clk)
            leds = int(dut.led_o.value)
            assert leds >> LED_DONE & 1, f"DONE LED off after an inference (LEDs 0b{leds:08b})"
            assert not leds >> LED_ERROR & 1 and not leds >> LED_LINK & 1, f"LEDs 0b{leds:08b}"
        assert env.uart.frame_errors == 0 and not env.uart.received

    def done(self) -> bool:
        return True
