"""Valid/ready stream agent: bus binding, items, sequence, source and sink drivers, monitor."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cocotb.triggers import ReadOnly, RisingEdge
from pyuvm import (
    ConfigDB,
    uvm_agent,
    uvm_analysis_port,
    uvm_component,
    uvm_driver,
    uvm_monitor,
    uvm_sequence,
    uvm_sequence_item,
    uvm_sequencer,
)


class StreamBus:
    """Handles of one valid/ready stream: the handshake pair plus named payload fields."""

    def __init__(self, dut: Any, valid: str, ready: str, fields: Mapping[str, str]) -> None:
        self.name = valid
        self.valid = getattr(dut, valid)
        self.ready = getattr(dut, ready)
        self.fields = {name: getattr(dut, sig) for name, sig in fields.items()}

    @classmethod
    def from_prefix(cls, dut: Any, prefix: str, fields: Iterable[str], direction: str) -> StreamBus:
        """Bind `<prefix>valid_i`, `<prefix>ready_o`, `<prefix><field>_i` (direction "in") or the
        mirrored `_o`/`_i` names (direction "out"). An empty prefix gives `valid_i` and so on."""
        if direction not in ("in", "out"):
            raise ValueError(f"direction must be 'in' or 'out', got {direction!r}")
        fwd, bwd = ("_i", "_o") if direction == "in" else ("_o", "_i")
        pre = f"{prefix}_" if prefix else ""
        return cls(
            dut,
            valid=f"{pre}valid{fwd}",
            ready=f"{pre}ready{bwd}",
            fields={f: f"{pre}{f}{fwd}" for f in fields},
        )


class StreamItem(uvm_sequence_item):
    """One transfer on a stream: a dict of field name to integer value."""

    def __init__(self, name: str = "stream_item", fields: Mapping[str, int] | None = None):
        super().__init__(name)
        self.fields: dict[str, int] = dict(fields or {})
        self.time_ns: float | None = None  # filled in by the monitor

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StreamItem) and self.fields == other.fields

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.fields.items())))

    def __str__(self) -> str:
        body = " ".join(
            f"{k}=0x{v:x}" if isinstance(v, int) else f"{k}={v}" for k, v in self.fields.items()
        )
        when = f" @{self.time_ns:.0f}ns" if self.time_ns is not None else ""
        return f"{{{body}}}{when}"

    __repr__ = __str__


@dataclass
class StreamAgentConfig:
    """How one agent drives and watches its stream. Stored in ConfigDB under `<agent>.cfg`."""

    bus: StreamBus
    clk: Any
    rst: Any
    role: str = "source"  # "source" drives valid+data, "sink" drives ready, "passive" only watches
    idle_prob: float = 0.0  # source: chance of idle cycles before each item
    max_idle: int = 4  # source: idle cycles drawn from 1..max_idle when idling
    backpressure_prob: float = 0.0  # sink: chance that ready is low in a cycle
    rng: random.Random = field(default_factory=random.Random)

    def idle_cycles(self) -> int:
        if self.idle_prob > 0 and self.rng.random() < self.idle_prob:
            return self.rng.randint(1, self.max_idle)
        return 0


class StreamSequence(uvm_sequence):
    """Sends a prepared list of payload dicts, one item each."""

    def __init__(self, name: str = "stream_seq", payloads: Iterable[Mapping[str, int]] = ()):
        super().__init__(name)
        self.payloads = list(payloads)

    async def body(self) -> None:
        for payload in self.payloads:
            item = StreamItem("item", payload)
            await self.start_item(item)
            await self.finish_item(item)


def _in_reset(cfg: StreamAgentConfig) -> bool:
    return cfg.rst is not None and int(cfg.rst.value) == 1


class StreamSourceDriver(uvm_driver):
    """Drives items onto valid/data, holding each until ready; idles valid between items.

    An item presented while reset is asserted is presented again after reset."""

    def build_phase(self) -> None:
        self.cfg: StreamAgentConfig = ConfigDB().get(self, "", "cfg")

    def _release(self) -> None:
        self.cfg.bus.valid.value = 0

    async def run_phase(self) -> None:
        cfg = self.cfg
        self._release()
        while True:
            item = await self.seq_item_port.get_next_item()
            for _ in range(cfg.idle_cycles()):
                await RisingEdge(cfg.clk)
            while True:
                for name, sig in cfg.bus.fields.items():
                    sig.value = item.fields[name]
                cfg.bus.valid.value = 1
                await ReadOnly()
                fired = int(cfg.bus.ready.value) == 1 and not _in_reset(cfg)
                await RisingEdge(cfg.clk)
                if fired:
                    break
            self._release()
            self.seq_item_port.item_done()


class StreamSinkDriver(uvm_component):
    """Drives ready on an output stream with random backpressure (no sequence needed)."""

    def build_phase(self) -> None:
        self.cfg: StreamAgentConfig = ConfigDB().get(self, "", "cfg")

    async def run_phase(self) -> None:
        cfg = self.cfg
        while True:
            stall = cfg.backpressure_prob > 0 and cfg.rng.random() < cfg.backpressure_prob
            cfg.bus.ready.value = 0 if stall else 1
            await RisingEdge(cfg.clk)


class StreamMonitor(uvm_monitor):
    """Publishes every completed transfer (valid and ready high at a clock edge, not in reset)."""

    def build_phase(self) -> None:
        self.cfg: StreamAgentConfig = ConfigDB().get(self, "", "cfg")
        self.ap = uvm_analysis_port("ap", self)
        self.count = 0
        # Optional hook that may alter an observed item before it is published; error-injection
        # tests use it to prove that the checkers downstream notice a corrupted transfer.
        self.tamper: Callable[[int, StreamItem], None] | None = None

    async def run_phase(self) -> None:
        import cocotb.utils

        cfg = self.cfg
        valid, ready, fields = cfg.bus.valid, cfg.bus.ready, cfg.bus.fields
        while True:
            await RisingEdge(cfg.clk)
            await ReadOnly()
            if _in_reset(cfg):
                continue
            if int(valid.value) and int(ready.value):
                item = StreamItem(f"{self.get_name()}_{self.count}")
                item.fields = {name: int(sig.value) for name, sig in fields.items()}
                item.time_ns = cocotb.utils.get_sim_time("ns")
                if self.tamper is not None:
                    self.tamper(self.count, item)
                self.count += 1
                self.ap.write(item)


class StreamAgent(uvm_agent):
    """Source, sink or passive agent for one stream; the monitor's port is `agent.ap`."""

    def build_phase(self) -> None:
        self.cfg: StreamAgentConfig = ConfigDB().get(self, "", "cfg")
        ConfigDB().set(self, "*", "cfg", self.cfg)
        self.monitor = StreamMonitor("monitor", self)
        self.seqr = None
        self.driver = None
        if self.cfg.role == "source":
            self.seqr = uvm_sequencer("seqr", self)
            self.driver = StreamSourceDriver("driver", self)
        elif self.cfg.role == "sink":
            self.driver = StreamSinkDriver("driver", self)
        elif self.cfg.role != "passive":
            raise ValueError(f"unknown stream agent role {self.cfg.role!r}")

    def connect_phase(self) -> None:
        self.ap = self.monitor.ap
        if self.cfg.role == "source":
            self.driver.seq_item_port.connect(self.seqr.seq_item_export)
