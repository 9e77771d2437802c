"""pyuvm agents around cocotbext-axi: an AXI4-Lite register master, AXI4-Stream endpoints and an
AXI4 memory that answers a read-only master."""

from __future__ import annotations

import itertools
import random
import struct
from collections.abc import Iterator
from typing import Any

from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiRamRead,
    AxiReadBus,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)
from pyuvm import uvm_analysis_port, uvm_component


def pauses(rng: random.Random, prob: float) -> Iterator[bool]:
    """Pause generator for cocotbext-axi: True pauses the interface for one cycle."""
    if prob <= 0:
        return itertools.repeat(False)
    return (rng.random() < prob for _ in itertools.count())


def words_to_bytes(words: list[int]) -> bytes:
    return struct.pack(f"<{len(words)}I", *(w & 0xFFFFFFFF for w in words))


def bytes_to_words(data: bytes) -> list[int]:
    if len(data) % 4:
        raise ValueError(f"stream frame of {len(data)} bytes is not whole 32-bit words")
    return list(struct.unpack(f"<{len(data) // 4}I", data))


class AxiLiteAgent(uvm_component):
    """Register access over an AXI4-Lite slave port named `<prefix>_aw*` and so on."""

    def __init__(self, name: str, parent: Any, dut: Any, prefix: str = "s_axil") -> None:
        super().__init__(name, parent)
        self.master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, prefix), dut.clk_i, dut.rst_i)

    async def write(self, addr: int, value: int) -> None:
        await self.master.write(addr, struct.pack("<I", value & 0xFFFFFFFF))

    async def read(self, addr: int) -> int:
        resp = await self.master.read(addr, 4)
        return struct.unpack("<I", bytes(resp.data))[0]


class AxiStreamSourceAgent(uvm_component):
    """Sends word packets on an AXI4-Stream slave port, with random idle cycles."""

    def __init__(
        self, name: str, parent: Any, dut: Any, prefix: str, rng: random.Random, idle: float
    ) -> None:
        super().__init__(name, parent)
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, prefix), dut.clk_i, dut.rst_i)
        self.source.log.setLevel("WARNING")
        self.source.set_pause_generator(pauses(rng, idle))

    async def send(self, words: list[int]) -> None:
        await self.source.send(AxiStreamFrame(words_to_bytes(words)))
        await self.source.wait()


class AxiStreamSinkAgent(uvm_component):
    """Receives packets from an AXI4-Stream master port with random backpressure and publishes
    each one (as a list of words) on `ap`."""

    def __init__(
        self, name: str, parent: Any, dut: Any, prefix: str, rng: random.Random, stall: float
    ) -> None:
        super().__init__(name, parent)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, prefix), dut.clk_i, dut.rst_i)
        self.sink.log.setLevel("WARNING")
        self.sink.set_pause_generator(pauses(rng, stall))

    def build_phase(self) -> None:
        self.ap = uvm_analysis_port("ap", self)

    async def run_phase(self) -> None:
        while True:
            frame = await self.sink.recv()
            self.ap.write(bytes_to_words(bytes(frame.tdata)))


class PoisonableRam(AxiRamRead):
    """cocotbext-axi's read-only RAM, plus address ranges that answer SLVERR (error injection)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.poisoned: list[range] = []

    async def _read(self, address: int, length: int) -> bytes:
        if any(address in r for r in self.poisoned):
            raise OSError(f"poisoned address {address:#x}")  # the model answers SLVERR
        return await super()._read(address, length)


class AxiMemoryAgent(uvm_component):
    """External memory on an AXI4 read-only master port named `<prefix>_ar*` / `<prefix>_r*`:
    cocotbext-axi's RAM model (`size` bytes) with random gaps in the read data."""

    def __init__(
        self,
        name: str,
        parent: Any,
        dut: Any,
        prefix: str,
        rng: random.Random,
        stall: float,
        size: int = 1 << 26,
    ) -> None:
        super().__init__(name, parent)
        bus = AxiReadBus.from_prefix(dut, prefix)
        self.ram = PoisonableRam(bus, dut.clk_i, dut.rst_i, size=size)
        self.ram.log.setLevel("WARNING")
        self.ram.r_channel.set_pause_generator(pauses(rng, stall))

    def load(self, address: int, data: bytes) -> None:
        self.ram.write(address, data)
