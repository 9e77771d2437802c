"""The host protocol without hardware: frames, reply parsing, NAKs and a fake bridge."""

from __future__ import annotations

import struct

import pytest

from fpga import protocol as proto


def feed(cmd: proto.Command, reply: bytes):
    buf = bytearray(reply)

    def read_exact(n: int) -> bytes:
        if len(buf) < n:
            raise TimeoutError("short reply")
        out = bytes(buf[:n])
        del buf[:n]
        return out

    sent = bytearray()
    result = proto.run(cmd, sent.extend, read_exact)
    assert not buf, "reply bytes left over"
    return bytes(sent), result


def test_frames():
    assert proto.write(0x18, 0x12345678).request == bytes.fromhex("57180078563412")
    assert proto.read(0x30).request == bytes.fromhex("523000")
    assert proto.send([1, 2], last=True).request == bytes.fromhex("530101000100000002000000")
    assert proto.get(1).request == bytes.fromhex("470000")
    with pytest.raises(ValueError):
        proto.send([])


def test_replies():
    assert feed(proto.ping(), bytes([proto.ACK]) + proto.BRIDGE_ID)[1] == proto.BRIDGE_ID
    assert feed(proto.read(0), bytes([proto.ACK]) + struct.pack("<I", 0x4E524C31))[1] == (
        0x4E524C31
    )
    with pytest.raises(proto.NakError) as err:
        feed(proto.write(0xF00, 0), bytes([proto.NAK, 0x12]))
    assert err.value.code == 0x12 and "SLVERR" in str(err.value)
    words = bytes([proto.ACK, 1]) + struct.pack("<I", 7) + bytes([2]) + struct.pack("<I", 9)
    assert feed(proto.get(), words + b"\x00")[1] == ([7, 9], True)
    with pytest.raises(proto.ProtocolError):
        feed(proto.get(), bytes([proto.ACK, 5]))


class FakeBridge:
    """Byte-level model of the bridge in front of a core that answers one inference."""

    def __init__(self) -> None:
        self.regs = {proto.REG_ID: proto.CORE_ID, proto.REG_STATUS: 0, proto.REG_CYCLES: 1234}
        self.rx = bytearray()
        self.tx = bytearray()
        self.stream: list[int] = []
        self.out = [3, 5, (-2) & 0xFFFFFFFF, 4]

    def write(self, data: bytes) -> None:
        self.rx += data
        while self.rx:
            cmd = self.rx[0]
            if cmd == proto.CMD_PING:
                self.tx += bytes([proto.ACK]) + proto.BRIDGE_ID
                del self.rx[:1]
            elif cmd == proto.CMD_WRITE and len(self.rx) >= 7:
                addr, value = struct.unpack("<HI", self.rx[1:7])
                if addr == proto.REG_CTRL and value & proto.CTRL_START:
                    self.regs[proto.REG_STATUS] = proto.STATUS_DONE
                self.tx += bytes([proto.ACK])
                del self.rx[:7]
            elif cmd == proto.CMD_READ and len(self.rx) >= 3:
                (addr,) = struct.unpack("<H", self.rx[1:3])
                self.tx += bytes([proto.ACK]) + struct.pack("<I", self.regs.get(addr, 0))
                del self.rx[:3]
            elif cmd == proto.CMD_SEND and len(self.rx) >= 4:
                n = struct.unpack("<H", self.rx[2:4])[0] + 1
                if len(self.rx) < 4 + 4 * n:
                    return
                self.stream += struct.unpack(f"<{n}I", self.rx[4 : 4 + 4 * n])
                self.tx += bytes([proto.ACK])
                del self.rx[: 4 + 4 * n]
            elif cmd == proto.CMD_GET and len(self.rx) >= 3:
                self.tx += bytes([proto.ACK])
                for i, w in enumerate(self.out):
                    tag = proto.TAG_LAST if i == len(self.out) - 1 else proto.TAG_WORD
                    self.tx += bytes([tag]) + struct.pack("<I", w)
                self.tx += bytes([proto.TAG_END])
                del self.rx[:3]
            elif cmd in (proto.CMD_WRITE, proto.CMD_READ, proto.CMD_SEND, proto.CMD_GET):
                return
            else:
                self.tx += bytes([proto.NAK, proto.ERR_CMD])
                del self.rx[:1]

    def read(self, n: int) -> bytes:
        out = bytes(self.tx[:n])
        del self.tx[:n]
        return out

    def reset_input_buffer(self) -> None:
        self.tx.clear()


def test_inference_over_a_fake_bridge():
    bridge = FakeBridge()
    link = proto.SerialLink(bridge)
    assert link.run(proto.check_core())["id"] == proto.CORE_ID
    image = [0xA5040000, 2, 0x01020304, 0x05060708]
    cls, logits, cycles = link.run(proto.infer(image))
    assert bridge.stream == image
    assert (cls, logits, cycles) == (3, [5, -2, 4], 1234)
    big = list(range(10_000))
    link.run(proto.send_packet(big, chunk=4096))
    assert bridge.stream[len(image) :] == big


def test_host_ping_and_caps(monkeypatch, capsys):
    from fpga import host

    bridge = FakeBridge()
    bridge.regs[proto.REG_CAPS] = 8 | 7 << 8 | 5 << 12  # the default core: Lanes 8, MaxC 128
    monkeypatch.setattr(host, "open_link", lambda port, baud, timeout: proto.SerialLink(bridge))
    assert host.main(["--port", "fake", "--ping"]) == 0
    host.check_caps(host.proto.SerialLink(bridge).run(proto.check_core()), {})
    with pytest.raises(SystemExit):
        host.check_caps({"caps": 28 | 9 << 8 | 5 << 12}, {})
