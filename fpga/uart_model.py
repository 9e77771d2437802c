"""Simulated UART host for cocotb: drives a DUT's receive pin and decodes its transmit pin.

Bit times are whole picoseconds, derived from the DUT's clock period and clock divider, so the
model and the RTL agree exactly unless a skew is asked for. `write`/`read_exact` plug straight
into `fpga.protocol.arun`."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

import cocotb
from cocotb.triggers import Event, FallingEdge, First, Timer

log = logging.getLogger("tb.uart")


class UartModel:
    """8N1 host side of a serial link. `to_dut` is the DUT's receive input, `from_dut` its
    transmit output; `bit_ps` is the DUT's bit time."""

    def __init__(self, to_dut: Any, from_dut: Any, bit_ps: int) -> None:
        self.to_dut = to_dut
        self.from_dut = from_dut
        self.bit_ps = bit_ps
        self.skew = 0.0  # relative error of the bit time this model sends with
        self.gap_bits = 0  # idle bit times between sent bytes
        self.frame_errors = 0
        self.sent = 0
        self.received: deque[int] = deque()
        self._arrived = Event()
        to_dut.value = 1
        self._rx_task = cocotb.start_soon(self._receive())

    # ------------------------------------------------------------------ send
    async def write(self, data: bytes) -> None:
        bit_ps = round(self.bit_ps * (1.0 + self.skew))
        # Runs of equal bits are driven with one timer each (fewer simulator callbacks).
        levels: list[int] = []
        for byte in data:
            levels += [0] + [(byte >> i) & 1 for i in range(8)] + [1] * (1 + self.gap_bits)
        i = 0
        while i < len(levels):
            j = i
            while j < len(levels) and levels[j] == levels[i]:
                j += 1
            self.to_dut.value = levels[i]
            await Timer((j - i) * bit_ps, unit="ps")
            i = j
        self.sent += len(data)

    async def write_bad_frame(self, byte: int) -> None:
        """A frame whose stop bit is low (framing error at the receiver)."""
        bit = Timer(self.bit_ps, unit="ps")
        for level in [0] + [(byte >> i) & 1 for i in range(8)] + [0]:
            self.to_dut.value = level
            await bit
        self.to_dut.value = 1
        await Timer(2 * self.bit_ps, unit="ps")

    # ------------------------------------------------------------------ receive
    async def _receive(self) -> None:
        half = Timer(self.bit_ps // 2, unit="ps")
        bit = Timer(self.bit_ps, unit="ps")
        while True:
            await FallingEdge(self.from_dut)
            await half
            if int(self.from_dut.value) != 0:
                continue  # a glitch, not a start bit
            byte = 0
            for i in range(8):
                await bit
                byte |= int(self.from_dut.value) << i
            await bit
            if int(self.from_dut.value) != 1:
                self.frame_errors += 1
                log.error("framing error on the DUT's transmit pin (byte 0x%02x)", byte)
            self.received.append(byte)
            self._arrived.set()

    async def read_exact(self, n: int, timeout_bytes: int = 400) -> bytes:
        """The next n bytes from the DUT; TimeoutError after `timeout_bytes` byte times of
        silence."""
        out = bytearray()
        while len(out) < n:
            if self.received:
                out.append(self.received.popleft())
                continue
            self._arrived.clear()
            timer = Timer(self.bit_ps * 10 * timeout_bytes, unit="ps")
            if await First(self._arrived.wait(), timer) is timer:
                raise TimeoutError(f"DUT sent {len(out)} of {n} expected bytes: {out.hex()}")
        return bytes(out)

    async def idle(self, byte_times: float) -> None:
        await Timer(round(self.bit_ps * 10 * byte_times), unit="ps")

    def flush(self) -> bytes:
        data = bytes(self.received)
        self.received.clear()
        return data
