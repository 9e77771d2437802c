"""Block test of conv_layer: random layers through the whole event datapath, against golden."""

from __future__ import annotations

import cocotb
import numpy as np
import pyuvm
from cocotb.triggers import ClockCycles
from cocotb_coverage.coverage import CoverCross, CoverPoint
from conv_lib import (
    DENSITY_BINS,
    Layer,
    LayerShape,
    density_bin,
    events,
    groups_bin,
    input_words,
    make_layer,
    map_words,
    package_layers,
    random_shape,
    synthetic_package,
    threshold_rows,
    weight_rows,
)
from pyuvm import ConfigDB

from golden import load_package
from verif.neural_tb import (
    BaseEnv,
    BaseTest,
    ErrorInjector,
    InOrderScoreboard,
    StreamAgent,
    StreamAgentConfig,
    StreamBus,
    StreamItem,
    StreamSequence,
)
from verif.registry import ROOT

CIFAR_TEST = "/work/shared/data/cifar10_test.npz"

SOURCES = {
    "cfg": ["data"],
    "in": ["data"],
    "w": ["data"],
    "th": ["data"],
    "res": ["data"],
    "start": [],
}


@CoverPoint("conv_layer.kernel", xf=lambda s, lanes, d, f: s.k, bins=[1, 3])
@CoverPoint("conv_layer.stride", xf=lambda s, lanes, d, f: s.stride, bins=[1, 2])
@CoverPoint("conv_layer.pool", xf=lambda s, lanes, d, f: s.pool, bins=[False, True])
@CoverPoint("conv_layer.residual", xf=lambda s, lanes, d, f: s.residual, bins=[False, True])
@CoverPoint("conv_layer.pixel", xf=lambda s, lanes, d, f: s.pixel, bins=[False, True])
@CoverPoint("conv_layer.density", xf=lambda s, lanes, d, f: density_bin(d), bins=DENSITY_BINS)
@CoverPoint(
    "conv_layer.groups",
    xf=lambda s, lanes, d, f: groups_bin(s.groups(lanes)),
    bins=["1", "2-3", ">=4"],
)
@CoverPoint("conv_layer.forwarding", xf=lambda s, lanes, d, f: f > 0, bins=[False, True])
@CoverCross("conv_layer.kernel_x_stride", items=["conv_layer.kernel", "conv_layer.stride"])
def sample_layer(shape: LayerShape, lanes: int, density: float, forwarded: int) -> None:
    """One sample per layer: its shape, measured input density and forwarded updates."""


class ConvLayerEnv(BaseEnv):
    """One source agent per load stream, a sink on the output map, an in-order scoreboard."""

    def build_phase(self) -> None:
        super().build_phase()
        dut = self.dut
        self.cfgs: dict[str, StreamAgentConfig] = {}
        self.agents: dict[str, StreamAgent] = {}
        for name, fields in SOURCES.items():
            cfg = StreamAgentConfig(
                StreamBus.from_prefix(dut, name, fields, "in"),
                dut.clk_i,
                dut.rst_i,
                role="source",
                rng=self.tb.rng(name),
            )
            ConfigDB().set(self, name, "cfg", cfg)
            self.cfgs[name] = cfg
            self.agents[name] = StreamAgent(name, self)
        self.out_cfg = StreamAgentConfig(
            StreamBus.from_prefix(dut, "out", ["data", "last"], "out"),
            dut.clk_i,
            dut.rst_i,
            role="sink",
            rng=self.tb.rng("out"),
        )
        ConfigDB().set(self, "out", "cfg", self.out_cfg)
        self.out = StreamAgent("out", self)
        self.scoreboard = InOrderScoreboard("scoreboard", self)

    def connect_phase(self) -> None:
        self.out.ap.connect(self.scoreboard.actual_export)

    def set_traffic(self, idle: float, stall: float) -> None:
        for cfg in self.cfgs.values():
            cfg.idle_prob = idle
        self.out_cfg.backpressure_prob = stall


# (source idle probability, sink backpressure probability), cycled over the layers
PHASES = [(0.0, 0.0), (0.3, 0.5), (0.0, 0.8), (0.5, 0.0)]


class ConvLayerBase(BaseTest):
    env_class = ConvLayerEnv
    coverage_prefix = "conv_layer"
    follows_plan = True  # False: the test's own layers, whatever the config's plan says

    def plan(self) -> dict:
        if not self.follows_plan:
            return {}
        return self.tb.extra.get("plan", {})

    def shapes(self, rng: np.random.Generator) -> list[LayerShape]:
        raise NotImplementedError

    async def run_layer(self, layer: Layer, idle: float, stall: float) -> dict[str, int]:
        """Load, start and unload one layer; predictions go to the scoreboard first."""
        p, s, env = self.tb.params, layer.shape, self.env
        lanes, acc_w = p["Lanes"], p["AccW"]
        words = map_words(layer.out)
        for i, word in enumerate(words):
            last = int(i == len(words) - 1)
            env.scoreboard.expected_export.write(StreamItem("exp", {"data": word, "last": last}))
        self.expected += len(words)
        env.set_traffic(idle, stall)
        seqr = {name: agent.seqr for name, agent in env.agents.items()}
        await StreamSequence("cfg", [{"data": s.descriptor()}]).start(seqr["cfg"])
        loads = {
            "in": input_words(layer),
            "w": weight_rows(layer, lanes),
            "th": threshold_rows(layer, lanes, acc_w),
            "res": map_words(layer.res) if s.residual else [],
        }
        tasks = [
            cocotb.start_soon(StreamSequence(n, [{"data": v} for v in vals]).start(seqr[n]))
            for n, vals in loads.items()
        ]
        for t in tasks:
            await t
        await StreamSequence("start", [{}]).start(seqr["start"])
        limit = 50 * (s.groups(lanes) * (s.h * s.w * (1 + s.cin * 8) + s.ho * s.wo) + 1000)
        await self.wait_until(lambda: self.env.out.monitor.count >= self.expected, limit, str(s))
        dut = self.dut
        perf = {
            "cycles": int(dut.perf_cycles_o.value),
            "events": int(dut.perf_events_o.value),
            "active": int(dut.perf_active_o.value),
            "stall": int(dut.perf_stall_o.value),
            "fwd": int(dut.perf_fwd_o.value),
        }
        groups = s.groups(lanes)
        updates = perf["events"] * s.k * s.k * s.cout
        bound = -(-updates // (9 * lanes))
        planes = 8 if s.pixel else 1
        self.logger.info(
            "layer %-34s in-density %.3f cycles %7d  events %6d  active %4d/%-4d  groups %2d"
            "  stall %d  fwd %d  bound %d (%.2fx)",
            str(s).split(" d=")[0],
            perf["events"] / (planes * s.cin * s.h * s.w),
            perf["cycles"],
            perf["events"],
            perf["active"],
            s.h * s.w,
            groups,
            perf["stall"],
            perf["fwd"],
            bound,
            perf["cycles"] / max(1, bound),
        )
        # The counters are checked against the model too: they feed the performance report.
        # A 1x1 stride-2 layer reads only the even rows and columns.
        xs = layer.x[:, ::2, ::2] if (s.k == 1 and s.stride == 2) else layer.x
        n_events = events(layer, xs)
        active = int((xs != 0).any(axis=0).sum())
        assert perf["events"] == n_events, f"perf_events {perf['events']} != {n_events}"
        assert perf["active"] == active, f"perf_active {perf['active']} != {active}"
        sample_layer(s, lanes, perf["events"] / (planes * s.cin * s.h * s.w), perf["fwd"])
        return perf

    async def stimulus(self) -> None:
        self.expected = 0
        self.perf: list[dict[str, int]] = []
        rng = np.random.default_rng(self.tb.rng("layers").getrandbits(64))
        acc_w = self.tb.params["AccW"]
        plan = self.plan()
        x = None
        if "image" in plan:
            # A real CIFAR-10 test image as the first layer's pixels, [3, 32, 32].
            images = np.load(CIFAR_TEST)["x"]
            x = images[int(plan["image"])].transpose(2, 0, 1)
        # Icarus evaluates the wide partial-sum vectors net by net and runs the wide configs
        # at a few hundred cycles per second, so there a plan may name the layers to simulate.
        keep = plan.get("icarus_layers") if "icarus" in self.tb.sim.lower() else None
        if "model" in plan:
            layers = self.model_layers(rng, plan)
        else:
            layers = []
            for shape in self.shapes(rng):
                layers.append(make_layer(rng, shape, acc_w, x, plan.get("fire_rate")))
                # A chained plan feeds each layer's output map to the next layer.
                x = layers[-1].out if plan.get("chain") else None
        for i, layer in enumerate(layers):
            if keep is not None and i not in keep:
                continue
            idle, stall = PHASES[i % len(PHASES)] if plan.get("traffic", True) else (0.0, 0.0)
            self.perf.append(await self.run_layer(layer, idle, stall))
        await ClockCycles(self.clk, 4)

    def done(self) -> bool:
        return self.env.out.monitor.count >= self.expected

    def model_layers(self, rng: np.random.Generator, plan: dict) -> list[Layer]:
        """Conv layers of a model package on the golden trace of a real CIFAR-10 image."""
        if plan["model"] == "synthetic":
            pkg = synthetic_package(rng)
        else:
            pkg = load_package(ROOT / plan["model"])
        if pkg.manifest["acc_bits"] > self.tb.params["AccW"]:
            raise ValueError(f"{pkg.name} needs {pkg.manifest['acc_bits']} accumulator bits")
        images = np.load(CIFAR_TEST)["x"]
        layers = []
        for index in plan.get("images", [plan.get("image", 0)]):
            layers += package_layers(pkg, images[int(index) : int(index) + 1])
            self.logger.info("%s: conv layers on test image %d", pkg.name, int(index))
        return layers


@pyuvm.test()
class ConvLayerTest(ConvLayerBase):
    """Random layers of every kind (from the config's plan), with idle and backpressure."""

    def shapes(self, rng: np.random.Generator) -> list[LayerShape]:
        plan = self.plan()
        fixed = [LayerShape(**d) for d in plan.get("shapes", [])]
        if plan.get("shapes_only"):
            return fixed
        n, budget = plan.get("layers", 12), plan.get("budget", 4000)
        p = self.tb.params
        # 1x1 and 3x3 at both strides, pool, residual, pixels, silent and saturated inputs first.
        lead = [
            LayerShape(min(5, p["MaxCin"]), min(6, p["MaxCout"]), 5, 6, 3, 1, True, False),
            LayerShape(min(3, p["MaxCin"]), min(5, p["MaxCout"]), 6, 5, 1, 2, False, True),
            LayerShape(2, min(3, p["MaxCout"]), 7, 6, 3, 2, False, False, True, 0.6),
            LayerShape(min(4, p["MaxCin"]), min(4, p["MaxCout"]), 3, 4, 3, 1, density=1.0),
            LayerShape(min(4, p["MaxCin"]), min(4, p["MaxCout"]), 4, 3, 1, 1, density=0.0),
        ]
        return fixed + lead + [random_shape(rng, p, budget) for _ in range(n)]


@pyuvm.test()
class ConvLayerInjectTest(ConvLayerTest):
    """Corrupts one observed output word and proves that the scoreboard flags exactly it."""

    follows_plan = False

    def shapes(self, rng: np.random.Generator) -> list[LayerShape]:
        return super().shapes(rng)[:3]

    def end_of_elaboration_phase(self) -> None:
        victim = self.tb.rng("victim").randrange(20)
        self.logger.info("corrupting output word %d", victim)
        self.injector = ErrorInjector(
            self.env.out.monitor,
            self.env.scoreboard,
            victim,
            lambda item: item.fields.__setitem__("data", item.fields["data"] ^ 1),
        )

    def check_phase(self) -> None:
        self.injector.check()


@pyuvm.test()
class ConvLayerHazardTest(ConvLayerBase):
    """Back-to-back events on the same membranes: every position active with one or two events,
    so a partial sum reaches the membranes every cycle and neighbours share target words."""

    follows_plan = False

    def shapes(self, rng: np.random.Generator) -> list[LayerShape]:
        p = self.tb.params
        h, w = min(8, p["MaxH"]), min(8, p["MaxW"])
        cout = min(p["Lanes"] + 1, p["MaxCout"])
        return [
            LayerShape(1, cout, h, w, 3, 1, density=1.0),
            LayerShape(2, cout, h, w, 3, 1, pool=True, density=1.0),
            LayerShape(1, cout, h, w, 3, 2, density=1.0),
            LayerShape(1, cout, h, w, 1, 1, density=1.0),
        ]

    async def stimulus(self) -> None:
        await super().stimulus()
        # Stride 1 with a 3x3 kernel makes consecutive positions share six target words.
        assert self.perf[0]["fwd"] > 0, "no forwarded membrane update in the hazard layer"
        assert self.perf[0]["stall"] == 0
