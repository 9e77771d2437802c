"""Byte protocol of `fpga/rtl/uart_axi_bridge.sv`, written without I/O.

Every command is a byte string for the bridge plus a reply parser. A parser is a generator that
yields how many reply bytes it needs next, receives them, and returns the result; a host
operation is a generator that yields `Command`s and receives their results. The same code then
runs over pyserial (`SerialLink`, `run`) and over simulated UART pins in cocotb (`arun`).

Frames (multi-byte fields little-endian):

| command | host sends | bridge answers |
|---|---|---|
| PING  `P` | `50` | `06` + `4E 55 42 01` ("NUB", version 1) |
| WRITE `W` | `57` addr[2] data[4] | `06`, or `15` code |
| READ  `R` | `52` addr[2] | `06` data[4], or `15` code |
| SEND  `S` | `53` flags[1] (count-1)[2], then count words of 4 bytes | `06` after the last word |
| GET   `G` | `47` (max-1)[2] | `06`, records `01`/`02` + word[4] (`02` = tlast), then `00` |
| other | any other byte | `15 01` |

NAK codes: 0x01 unknown command, 0x02 the rest of a command did not arrive in time (the bridge
dropped it), 0x10 | resp for an AXI4-Lite response other than OKAY. SEND flags bit 0 puts tlast
on the final word. GET ends after a word with tlast, after max words, or when the core offers no
word for a while."""

from __future__ import annotations

import struct
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

CMD_PING, CMD_WRITE, CMD_READ, CMD_SEND, CMD_GET = 0x50, 0x57, 0x52, 0x53, 0x47
ACK, NAK = 0x06, 0x15
ERR_CMD, ERR_TIMEOUT, ERR_RESP = 0x01, 0x02, 0x10
TAG_END, TAG_WORD, TAG_LAST = 0x00, 0x01, 0x02
BRIDGE_ID = b"NUB\x01"
MAX_WORDS = 1 << 16  # words per SEND or GET command
FLAG_TLAST = 0x01

# Registers of neural_top (docs/architecture.md, "Host interface of `neural_top`")
REG_ID, REG_VERSION, REG_CTRL, REG_STATUS, REG_ERROR, REG_CAPS = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14
REG_CYCLES, REG_EVENTS, REG_ACTIVE, REG_STALLS, REG_CLASS = 0x20, 0x24, 0x28, 0x2C, 0x30
CORE_ID = 0x4E524C31
CTRL_START, CTRL_CLEAR, CTRL_IRQ_EN = 1, 2, 4
STATUS_BUSY, STATUS_DONE, STATUS_ERROR = 1, 2, 4

Parser = Generator[int, bytes, Any]


class ProtocolError(RuntimeError):
    """The bridge answered something the protocol does not allow."""


class NakError(ProtocolError):
    """The bridge refused a command; `code` says why."""

    def __init__(self, code: int, what: str) -> None:
        self.code = code
        super().__init__(f"{what}: NAK 0x{code:02x} ({nak_reason(code)})")


def nak_reason(code: int) -> str:
    if code == ERR_CMD:
        return "unknown command"
    if code == ERR_TIMEOUT:
        return "command incomplete, dropped after a timeout"
    if code & 0xF0 == ERR_RESP:
        return {1: "EXOKAY", 2: "SLVERR", 3: "DECERR"}.get(code & 3, "OKAY?") + " from the core"
    return "unknown code"


@dataclass
class Command:
    """Bytes to send and the parser of the reply."""

    name: str
    request: bytes
    parse: Callable[[], Parser]


def _ack(what: str, payload: int = 0) -> Parser:
    """ACK followed by `payload` bytes (returned), or NAK + code (raised)."""
    head = yield 1
    if head[0] == ACK:
        return (yield payload) if payload else b""
    if head[0] == NAK:
        code = yield 1
        raise NakError(code[0], what)
    raise ProtocolError(f"{what}: expected ACK or NAK, got 0x{head[0]:02x}")


def ping() -> Command:
    def parse() -> Parser:
        ident = yield from _ack("PING", 4)
        if ident != BRIDGE_ID:
            raise ProtocolError(f"PING: bridge id {ident!r}, expected {BRIDGE_ID!r}")
        return ident

    return Command("PING", bytes([CMD_PING]), parse)


def write(addr: int, data: int) -> Command:
    what = f"WRITE 0x{addr:03x}"
    return Command(
        what,
        struct.pack("<BHI", CMD_WRITE, addr, data & 0xFFFFFFFF),
        lambda: _ack(what),
    )


def read(addr: int) -> Command:
    what = f"READ 0x{addr:03x}"

    def parse() -> Parser:
        data = yield from _ack(what, 4)
        return struct.unpack("<I", data)[0]

    return Command(what, struct.pack("<BH", CMD_READ, addr), parse)


def send(words: Sequence[int], last: bool = True) -> Command:
    """One SEND of 1..65536 words; `last` puts tlast on the final one."""
    if not 1 <= len(words) <= MAX_WORDS:
        raise ValueError(f"SEND takes 1..{MAX_WORDS} words, got {len(words)}")
    head = struct.pack("<BBH", CMD_SEND, FLAG_TLAST if last else 0, len(words) - 1)
    body = struct.pack(f"<{len(words)}I", *(w & 0xFFFFFFFF for w in words))
    what = f"SEND {len(words)} words"
    return Command(what, head + body, lambda: _ack(what))


def get(max_words: int = MAX_WORDS) -> Command:
    """Returns (words, saw_tlast)."""
    if not 1 <= max_words <= MAX_WORDS:
        raise ValueError(f"GET takes 1..{MAX_WORDS} words, got {max_words}")

    def parse() -> Parser:
        yield from _ack("GET")
        words: list[int] = []
        saw_last = False
        while True:
            tag = (yield 1)[0]
            if tag == TAG_END:
                return words, saw_last
            if tag not in (TAG_WORD, TAG_LAST) or saw_last or len(words) >= max_words:
                raise ProtocolError(f"GET: unexpected record tag 0x{tag:02x}")
            words.append(struct.unpack("<I", (yield 4))[0])
            saw_last = tag == TAG_LAST

    return Command(f"GET {max_words}", struct.pack("<BH", CMD_GET, max_words - 1), parse)


# ------------------------------------------------------------------------ host operations
# An operation yields Commands and receives each one's result; `run`/`arun` drive it.

Op = Generator[Command, Any, Any]


def send_packet(words: Sequence[int], chunk: int = 4096) -> Op:
    """One core packet (header, length, payload) as SEND commands; tlast on the final word."""
    for start in range(0, len(words), chunk):
        part = words[start : start + chunk]
        yield send(part, last=start + chunk >= len(words))


def load_packets(packets: Iterable[Sequence[int]]) -> Op:
    """Loads a model: the packets from the core-image compiler, in order; checks ERROR."""
    yield write(REG_CTRL, CTRL_CLEAR)
    for pkt in packets:
        yield from send_packet(pkt)
    status = yield read(REG_STATUS)
    if status & STATUS_ERROR:
        code = yield read(REG_ERROR)
        raise ProtocolError(f"core rejected the model: error code {code}")
    return status


def receive_packet(max_polls: int = 1000) -> Op:
    """Words of one output packet, up to its tlast."""
    words: list[int] = []
    for _ in range(max_polls):
        part, last = yield get()
        words += part
        if last:
            return words
    raise ProtocolError(f"no tlast after {max_polls} GET commands ({len(words)} words)")


def infer(image_packet: Sequence[int], max_polls: int = 100_000) -> Op:
    """Sends one IMAGE packet, writes START and collects the output packet, and returns
    (class, logits, cycles).

    The core finishes (DONE) only after its output packet has been taken, so the host keeps
    asking for output words (GET) while the inference runs, and reads STATUS for errors
    whenever a GET comes back empty."""
    yield write(REG_CTRL, CTRL_CLEAR)
    yield from send_packet(image_packet)
    yield write(REG_CTRL, CTRL_START)
    words: list[int] = []
    for _ in range(max_polls):
        part, last = yield get()
        words += part
        if last:
            break
        if not part:
            status = yield read(REG_STATUS)
            if status & STATUS_ERROR:
                code = yield read(REG_ERROR)
                raise ProtocolError(f"core error code {code} during the inference")
    else:
        raise ProtocolError(f"no output packet after {max_polls} GET commands")
    cycles = yield read(REG_CYCLES)
    logits = [w - (1 << 32) if w & 0x80000000 else w for w in words[1:]]
    return words[0], logits, cycles


def check_core() -> Op:
    """PING the bridge and read the core's ID, VERSION and CAPS."""
    yield ping()
    ident = yield read(REG_ID)
    if ident != CORE_ID:
        raise ProtocolError(f"core ID 0x{ident:08x}, expected 0x{CORE_ID:08x}")
    version = yield read(REG_VERSION)
    caps = yield read(REG_CAPS)
    return {"id": ident, "version": version, "caps": caps}


# ------------------------------------------------------------------------ drivers


def _drive_parser(parser: Parser, read_exact: Callable[[int], bytes]) -> Any:
    try:
        need = next(parser)
        while True:
            need = parser.send(read_exact(need))
    except StopIteration as stop:
        return stop.value


def execute(cmd: Command, write_bytes: Callable[[bytes], None], read_exact) -> Any:
    write_bytes(cmd.request)
    return _drive_parser(cmd.parse(), read_exact)


def run(op: Op | Command, write_bytes: Callable[[bytes], None], read_exact) -> Any:
    """Drives an operation (or a single command) over blocking byte I/O."""
    if isinstance(op, Command):
        return execute(op, write_bytes, read_exact)
    try:
        cmd = next(op)
        while True:
            cmd = op.send(execute(cmd, write_bytes, read_exact))
    except StopIteration as stop:
        return stop.value


async def aexecute(cmd: Command, write_bytes, read_exact) -> Any:
    await write_bytes(cmd.request)
    parser = cmd.parse()
    try:
        need = next(parser)
        while True:
            need = parser.send(await read_exact(need))
    except StopIteration as stop:
        return stop.value


async def arun(op: Op | Command, write_bytes, read_exact) -> Any:
    """Drives an operation over awaitable byte I/O (the cocotb UART model)."""
    if isinstance(op, Command):
        return await aexecute(op, write_bytes, read_exact)
    try:
        cmd = next(op)
        while True:
            cmd = op.send(await aexecute(cmd, write_bytes, read_exact))
    except StopIteration as stop:
        return stop.value


class SerialLink:
    """The protocol over a pyserial port (or anything with write/read/reset_input_buffer)."""

    def __init__(self, port: Any) -> None:
        self.port = port

    def _write(self, data: bytes) -> None:
        self.port.write(data)

    def _read(self, n: int) -> bytes:
        data = self.port.read(n)
        if len(data) != n:
            raise TimeoutError(f"expected {n} reply bytes, got {len(data)}: {data.hex()}")
        return data

    def run(self, op: Op | Command) -> Any:
        return run(op, self._write, self._read)

    def resync(self, quiet_s: float = 0.1, tries: int = 4) -> None:
        """Recovers from an unknown bridge state: stop sending until the bridge drops any half
        command, flush what it sent, then PING."""
        import time

        for attempt in range(tries):
            time.sleep(quiet_s * (attempt + 1))
            self.port.reset_input_buffer()
            try:
                self.run(ping())
                return
            except (ProtocolError, TimeoutError):
                continue
        raise ProtocolError(f"bridge did not answer PING after {tries} tries")
