"""Whole-core tests: trained (or synthetic) networks on real images through the AXI interfaces,
checked per image and per layer against the golden model; error codes; reset recovery."""

from __future__ import annotations

import logging
import os
import time

import cocotb
import numpy as np
import pyuvm
from cocotb.triggers import ClockCycles, ReadOnly, ValueChange
from pyuvm import uvm_subscriber

from golden.core_image import (
    ATTN_K,
    ATTN_Q,
    K_IMAGE,
    K_WEIGHTS,
    image_packet,
    map_words,
    model_packets,
    packet,
    words_to_map,
)
from verif.core_model import (
    compile_for,
    expectations,
    first_difference,
    get_package,
    load_images,
    result_compare,
)
from verif.neural_tb import BaseEnv, BaseTest, ErrorInjector, InOrderScoreboard, StreamItem
from verif.neural_tb.axi import (
    AxiLiteAgent,
    AxiMemoryAgent,
    AxiStreamSinkAgent,
    AxiStreamSourceAgent,
)

REG_CTRL, REG_STATUS, REG_ERROR, REG_EXT_BASE = 0x08, 0x0C, 0x10, 0x18
REG_CYCLES, REG_EVENTS, REG_ACTIVE, REG_STALLS = 0x20, 0x24, 0x28, 0x2C
CLK_MHZ = 200
log = logging.getLogger("tb.neural_top")


class ResultMonitor(uvm_subscriber):
    """Turns each output packet (class, logits) into a scoreboard item."""

    def build_phase(self) -> None:
        self.count = 0
        self.tamper = None  # error-injection hook, as on StreamMonitor

    def write(self, words: list[int]) -> None:
        logits = [w - (1 << 32) if w & 0x80000000 else w for w in words[1:]]
        item = StreamItem("result", {"class": words[0], "logits": tuple(logits)})
        if self.tamper is not None:
            self.tamper(self.count, item)
        self.count += 1
        self.out.write(item)


class CoreEnv(BaseEnv):
    def build_phase(self) -> None:
        super().build_phase()
        extra = self.tb.extra
        idle = float(extra.get("idle", 0.2))
        stall = float(extra.get("stall", 0.3))
        self.axil = AxiLiteAgent("axil", self, self.dut)
        self.axil.master.write_if.log.setLevel("WARNING")
        self.axil.master.read_if.log.setLevel("WARNING")
        self.src = AxiStreamSourceAgent("src", self, self.dut, "s_axis", self.tb.rng("src"), idle)
        self.snk = AxiStreamSinkAgent("snk", self, self.dut, "m_axis", self.tb.rng("snk"), stall)
        self.mem = AxiMemoryAgent("mem", self, self.dut, "m_axi", self.tb.rng("mem"), idle)
        self.results = ResultMonitor("results", self)
        self.scoreboard = InOrderScoreboard("scoreboard", self, compare=result_compare)

    def connect_phase(self) -> None:
        self.snk.ap.connect(self.results.analysis_export)
        self.results.out = self.scoreboard.actual_export


class NeuralTopBase(BaseTest):
    """Loads a model, then runs images; subclasses choose what else happens."""

    env_class = CoreEnv
    DRAIN_TIMEOUT_CYCLES = 3_000_000

    def build_phase(self) -> None:
        super().build_phase()
        extra = self.tb.extra
        n = int(os.environ.get("IMAGES") or extra.get("images", 2))
        self.images, self.labels = load_images(n, os.environ.get("DATA") or None)
        self.pkg = get_package(os.environ.get("MODEL") or extra["model"], self.images)
        self.core_image = compile_for(self.pkg, self.tb.params, extra.get("external", "auto"))
        self.ext_ops = [i for i, op in enumerate(self.core_image.ops) if op.words[1] >> 15 & 1]
        self.expected = expectations(self.pkg, self.core_image, self.images, self.labels)
        self.rows: list[dict] = []
        self.current: int | None = None
        self.logger.info(
            "model %s: %d ops, %d weight rows on chip, %d ops with %d KiB of weights in external "
            "memory; %d images",
            self.pkg.name,
            len(self.core_image.ops),
            len(self.core_image.weight_rows),
            len(self.ext_ops),
            len(self.core_image.ext_image) // 1024,
            n,
        )

    async def stimulus(self) -> None:
        cocotb.start_soon(self.probe_layers())
        cocotb.start_soon(self.progress())
        await self.body()

    async def body(self) -> None:
        raise NotImplementedError

    async def load_model(self) -> None:
        for words in model_packets(self.core_image):
            await self.env.src.send(words)
        await self.load_external()
        await ClockCycles(self.clk, 4)
        await self.expect_no_error("loading the model")

    async def load_external(self) -> None:
        """Weights of external layers into the memory model, and EXT_BASE pointing at them."""
        ext = self.core_image.ext_image
        if ext:
            # Anywhere 4 KiB aligned in the memory model, chosen by the seed.
            size = self.env.mem.ram.size
            self.ext_base = self.tb.rng("ext_base").randrange((size - len(ext)) // 4096) * 4096
            self.env.mem.load(self.ext_base, bytes(ext))
            await self.env.axil.write(REG_EXT_BASE, self.ext_base | 0xABC)
            got = await self.env.axil.read(REG_EXT_BASE)
            assert got == self.ext_base, f"EXT_BASE reads {got:#x}, wrote {self.ext_base:#x}"

    async def expect_no_error(self, what: str) -> None:
        status = await self.env.axil.read(REG_STATUS)
        if status & 4:
            code = await self.env.axil.read(REG_ERROR)
            raise AssertionError(f"core reports error {code} after {what}")

    async def probe_layers(self) -> None:
        """After every conv op, read its output map from the map store and compare it with the
        golden layer; the first differing layer, channel and position is recorded."""
        dut = self.dut
        slot_w = 2 * self.core_image.config.max_side_log2
        last_t = cocotb.utils.get_sim_time("ns")
        while True:
            await ValueChange(dut.pc_q)
            # The op's last word reaches the store in the same clock edge that moves pc_q; on
            # Icarus the callback can run before that write lands, so wait for the step to settle.
            await ReadOnly()
            pc = int(dut.pc_q.value)
            now = cocotb.utils.get_sim_time("ns")
            if pc == 0 or self.current is None:
                last_t = now
                continue
            idx = pc - 1
            op = self.core_image.ops[idx]
            row = self.rows[-1]
            # Attention Q ops build masks and store nothing; their effect shows in the K op.
            if op.kind != "conv" or op.dst_slot is None or row["first_diff"] is not None:
                last_t = now
                continue
            c, h, w = op.out_shape
            words = [int(dut.u_maps.mem_q[(op.dst_slot << slot_w) + p].value) for p in range(h * w)]
            got = words_to_map(words, c, h, w)
            diff = first_difference(self.expected[self.current].op_values[idx], got)
            if diff is not None and os.environ.get("NEURAL_DEBUG_ENGINE"):
                self.debug_engine(idx)
            if diff is not None:
                row["first_diff"] = (op.layer, *diff, last_t, now)
                if self.tb.out_dir:
                    dump = os.path.join(self.tb.out_dir, f"diff_image{self.current}_{op.layer}.npz")
                    np.savez(dump, expected=self.expected[self.current].op_values[idx], rtl=got)
                    self.logger.error("expected and RTL maps saved to %s", dump)
                self.logger.error(
                    "image %d: layer %s (op %d) differs first at channel %d, row %d, column %d; "
                    "window %.0f..%.0f ns",
                    self.current,
                    op.layer,
                    idx,
                    *diff,
                    last_t,
                    now,
                )
            last_t = now

    def debug_engine(self, idx: int) -> None:
        """NEURAL_DEBUG_ENGINE=1: when a layer differs, check what the engine was loaded with
        (input map, weights, thresholds), which tells a sequencer fault from an engine fault."""
        dut, img = self.dut, self.core_image
        op = img.ops[idx]
        w0, _, w2, w3 = op.words
        h, w = (w0 >> 20) & 63, (w0 >> 26) & 63
        xw = img.config.max_side_log2
        prev = self.expected[self.current].op_values[idx - 1]
        exp_words = map_words(prev)
        bad_in = [
            p
            for p in range(h * w)
            if int(dut.u_conv.u_in_map.mem_q[((p // w) << xw) | (p % w)].value) != exp_words[p]
        ]
        self.logger.error(
            "engine input map: %d of %d words differ %s", len(bad_in), h * w, bad_in[:8]
        )
        wbase, wrows = w2 & 0xFFFF, w2 >> 16
        bad_w = [
            r
            for r in range(wrows)
            if int(dut.u_conv.u_weight.u_wram.mem_q[r].value) != img.weight_rows[wbase + r]
        ]
        self.logger.error("engine weights: %d of %d rows differ %s", len(bad_w), wrows, bad_w[:8])
        groups = -(-((w0 >> 10) & 0x3FF) // img.config.lanes)
        bad_t = [
            g
            for g in range(groups)
            if int(dut.u_conv.u_thr.mem_q[g].value) != img.threshold_rows[w3 + g]
        ]
        self.logger.error("engine thresholds: %d of %d rows differ", len(bad_t), groups)

    async def run_image(self, i: int) -> None:
        await self.start_image(i)
        await self.finish_image(i)

    async def start_image(self, i: int) -> None:
        exp = self.expected[i]
        self.env.scoreboard.expected_export.write(
            StreamItem("expected", {"class": exp.cls, "logits": tuple(exp.logits)})
        )
        row = {"image": i, "label": exp.label, "golden": exp.cls, "first_diff": None}
        self.rows.append(row)
        self.current = i
        self._seen = self.env.scoreboard.matched + len(self.env.scoreboard.mismatches)
        self._mismatches_before = len(self.env.scoreboard.mismatches)
        await self.env.src.send(image_packet(self.images[i]))
        await self.env.axil.write(REG_CTRL, 1)
        await self.expect_no_error(f"starting image {i}")

    async def finish_image(self, i: int) -> None:
        row = self.rows[-1]
        matched = self._seen
        await self.wait_until(
            lambda: self.env.scoreboard.matched + len(self.env.scoreboard.mismatches) > matched,
            self.DRAIN_TIMEOUT_CYCLES,
            lambda: f"result of image {i} ({self.where()})",
            poll=64,
        )
        row["rtl"] = int(self.env.scoreboard.last_actual.fields["class"])
        this_ok = len(self.env.scoreboard.mismatches) == self._mismatches_before
        row["exact"] = this_ok and row["first_diff"] is None
        row["cycles"] = await self.env.axil.read(REG_CYCLES)
        row["events"] = await self.env.axil.read(REG_EVENTS)
        row["active"] = await self.env.axil.read(REG_ACTIVE)
        row["stalls"] = await self.env.axil.read(REG_STALLS)
        self.current = None

    def done(self) -> bool:
        return True

    async def progress(self) -> None:
        """Logs where the sequencer is every 200k cycles (long runs stay readable)."""
        while True:
            await ClockCycles(self.clk, 200_000)
            self.logger.info("image %s: %s", self.current, self.where())

    def where(self) -> str:
        """Where the sequencer is, for timeout messages."""
        d = self.dut
        return (
            f"state {int(d.state_q.value)}, op {int(d.pc_q.value)}, error {int(d.err_code_q.value)}"
        )

    def extract_phase(self) -> None:
        # Before check_phase, so the table is printed when a scoreboard fails.
        self.report_table()

    def report_table(self) -> None:
        lines = [f"{'img':>4} {'label':>5} {'golden':>6} {'rtl':>4}  {'result':<44} {'cycles':>9}"]
        for r in self.rows:
            if "rtl" not in r:
                continue
            if r["first_diff"]:
                layer, ch, y, x, t0, t1 = r["first_diff"]
                res = f"DIFF {layer} ch{ch} ({y},{x}) @{t0:.0f}-{t1:.0f}ns"
            else:
                res = "bit-exact" if r["exact"] else "DIFF in class/logits"
            lines.append(
                f"{r['image']:>4} {r['label']:>5} {r['golden']:>6} {r['rtl']:>4}  {res:<44} "
                f"{r['cycles']:>9}"
            )
        done = [r for r in self.rows if "rtl" in r]
        if done:
            exact = sum(r["exact"] for r in done)
            acc = sum(r["rtl"] == r["label"] for r in done) / len(done)
            cyc = sum(r["cycles"] for r in done) / len(done)
            wall = getattr(self, "_wall", 0.0) or 1e-9
            sim_cycles = cocotb.utils.get_sim_time("ns") / self.CLK_PERIOD_NS
            lines += [
                f"images {len(done)}, bit-exact {exact}/{len(done)}, RTL accuracy {100 * acc:.2f}%",
                f"cycles per image {cyc:,.0f}: "
                f"{CLK_MHZ * 1e6 / cyc:,.1f} images/s at {CLK_MHZ} MHz",
                f"simulated {sim_cycles / wall:,.0f} cycles per wall-clock second ({self.tb.sim})",
            ]
        for line in lines:
            self.logger.info(line)


@pyuvm.test()
class NeuralTopImagesTest(NeuralTopBase):
    """Loads the model once, runs every image, checks class, logits and every layer's map."""

    async def body(self) -> None:
        await self.load_model()
        t0 = time.perf_counter()
        for i in range(len(self.images)):
            await self.run_image(i)
        self._wall = time.perf_counter() - t0

    def check_phase(self) -> None:
        bad = [r for r in self.rows if not r.get("exact")]
        assert not bad, f"{len(bad)} of {len(self.rows)} images not bit-exact"


@pyuvm.test()
class NeuralTopInjectTest(NeuralTopImagesTest):
    """Corrupts one logit of one observed result and proves that the scoreboard flags it."""

    def end_of_elaboration_phase(self) -> None:
        victim = self.tb.rng("victim").randrange(len(self.images))

        def corrupt(item: StreamItem) -> None:
            logits = list(item.fields["logits"])
            logits[3] += 1
            item.fields["logits"] = tuple(logits)

        self.injector = ErrorInjector(self.env.results, self.env.scoreboard, victim, corrupt)

    def check_phase(self) -> None:
        self.injector.check()


@pyuvm.test()
class NeuralTopErrorTest(NeuralTopBase):
    """Every kind of illegal input gets its error code without a hang, and the core then still
    computes an image exactly."""

    async def expect_error(self, what: str, code: int) -> None:
        await ClockCycles(self.clk, 8)
        status = await self.env.axil.read(REG_STATUS)
        got = await self.env.axil.read(REG_ERROR)
        assert status & 4 and got == code, f"{what}: error {got} (status {status:#x}), not {code}"
        await self.env.axil.write(REG_CTRL, 2)  # CLEAR
        status = await self.env.axil.read(REG_STATUS)
        assert status & 6 == 0, f"{what}: CLEAR left status {status:#x}"
        self.logger.info("%s -> error %d, cleared", what, code)

    async def body(self) -> None:
        cfg = self.core_image.config
        send = self.env.src.send
        await self.env.axil.write(REG_CTRL, 1)
        await self.expect_error("START with no program", 7)
        await send([0x5A010000, 1, 0])
        await self.expect_error("bad magic", 1)
        await send([0xA5090000, 1, 0])
        await self.expect_error("unknown kind", 2)
        await send(packet(K_IMAGE, [0] * 16)[:-4])
        await self.expect_error("image stream too short", 3)
        await send(packet(K_IMAGE, [0] * 2)[:2] + [0] * 6)
        await self.expect_error("image stream too long", 4)
        side = 1 << cfg.max_side_log2
        await send(packet(K_IMAGE, [0] * (side * side + 1)))
        await self.expect_error("image larger than the map store", 8)
        await send(packet(K_WEIGHTS, [0] * (9 * cfg.lanes * 8 // 32), target=cfg.w_rows))
        await self.expect_error("weights beyond the store", 8)

        # A descriptor the core cannot run: no input channels.
        good = model_packets(self.core_image)
        bad_prog = list(good[0])
        bad_prog[2] &= ~0x3FF
        await send(bad_prog)
        for words in good[1:]:
            await send(words)
        await self.load_external()
        await send(image_packet(self.images[0]))
        await self.env.axil.write(REG_CTRL, 1)
        await self.wait_until(lambda: int(self.dut.busy_o.value) == 0, 1000, "refusal")
        await self.expect_error("descriptor with zero input channels", 5)

        # Attention descriptors the core refuses: a K op with no Q op before it, and token heads
        # that do not split the channels (found while the Q op's group size is worked out).
        cout = (good[0][2] >> 10) & 0x3FF
        heads = next(h for h in range(2, 9) if cout % h)
        dut = self.dut
        for what, w1, w3 in (
            ("attention K op without a Q op", ATTN_K << 16, 0),
            (f"{heads} heads over {cout} channels", ATTN_Q << 16 | heads << 20, 1 << 16),
            ("token attention with 9 heads", ATTN_Q << 16 | 9 << 20, 1 << 16),
        ):
            bad_prog = list(good[0])
            bad_prog[3] |= w1
            bad_prog[5] |= w3
            await send(bad_prog)
            await send(image_packet(self.images[0]))
            await self.env.axil.write(REG_CTRL, 1)
            await self.wait_until(
                lambda: int(dut.error_o.value) == 1 and int(dut.busy_o.value) == 0, 2000, what
            )
            await self.expect_error(what, 5)

        # A read error from external memory: the op finishes, then the core stops with error 9.
        if self.ext_ops:
            await send(good[0])
            op = self.core_image.ops[self.ext_ops[-1]]
            start = self.ext_base + (op.words[2] & 0xFFFF) * 4096
            self.env.mem.ram.poisoned = [range(start, start + 64)]
            await send(image_packet(self.images[0]))
            await self.env.axil.write(REG_CTRL, 1)
            await self.wait_until(
                lambda: int(dut.error_o.value) == 1 and int(dut.busy_o.value) == 0,
                self.DRAIN_TIMEOUT_CYCLES,
                "external read error",
                poll=64,
            )
            self.env.mem.ram.poisoned = []
            await self.expect_error("SLVERR from external memory", 9)

        # Reload the good program; a second START while busy is refused, the first run goes on.
        await send(good[0])
        await self.expect_no_error("reloading the program")
        await self.start_image(0)
        await self.env.axil.write(REG_CTRL, 1)
        await self.expect_error("START while busy", 6)
        await self.finish_image(0)
        second = 1 % len(self.images)  # the same image again when only one is loaded
        await self.start_image(second)
        await self.finish_image(second)

    def check_phase(self) -> None:
        assert len(self.rows) == 2 and all(r.get("exact") for r in self.rows), "not bit-exact"


@pyuvm.test()
class NeuralTopResetTest(NeuralTopBase):
    """A reset in the middle of an inference: the core goes idle, and after the model is loaded
    again the next image is exact."""

    async def body(self) -> None:
        await self.load_model()
        await self.env.src.send(image_packet(self.images[0]))
        await self.env.axil.write(REG_CTRL, 1)
        await self.wait_until(lambda: int(self.dut.pc_q.value) >= 2, 2_000_000, "op 2", poll=16)
        await self.reset()
        status = await self.env.axil.read(REG_STATUS)
        assert status == 0, f"status {status:#x} after reset, expected idle"
        await self.load_model()
        second = 1 % len(self.images)  # the same image again when only one is loaded
        await self.start_image(second)
        await self.finish_image(second)

    def check_phase(self) -> None:
        assert len(self.rows) == 1 and self.rows[0].get("exact"), "image after reset not exact"
