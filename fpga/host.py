"""Host program of the VC707 build: loads a model package into the core over the USB-UART and
classifies images.

    python -m fpga.host --port /dev/ttyUSB0 --ping
    python -m fpga.host --port /dev/ttyUSB0 --model models/vgg11_w025.npz --image cifar:0 --check
    python -m fpga.host --port /dev/ttyUSB0 --model m.npz --image cat.png --image x.npy

Images: `cifar:<index>` (from the CIFAR-10 test file, see --data), a 32x32 RGB PNG, or a .npy
array (HWC uint8). The core configuration (RTL parameters) must match the bitstream: give the
non-default ones with --param Name=value; the CAPS register is checked against it."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fpga import protocol as proto

log = logging.getLogger("neural.host")
DEFAULT_DATA = Path("/work/shared/data/cifar10_test.npz")
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]  # fmt: skip


# ------------------------------------------------------------------------ model and images


def model_packets(model: str | Path, params: dict[str, int]) -> tuple[Any, list[list[int]]]:
    """(package, packets that load it) for a core built with RTL parameters `params`.

    The packets come from golden.core_image (the compiler of the core's program and store
    layout); `load_model` only needs the list of packets."""
    from golden.core_image import CoreConfig, compile_package
    from golden.core_image import model_packets as packets_of
    from golden.package import load_package

    pkg = load_package(model)
    # The VC707 top has no external memory (ExtMem = 0): every layer's weights go on chip.
    image = compile_package(pkg, CoreConfig.from_rtl_parameters({**params, "ExtMem": 0}))
    return pkg, packets_of(image)


def image_packet(image: np.ndarray) -> list[int]:
    from golden.core_image import image_packet as packet_of

    return packet_of(image)


def load_image(spec: str, data: Path) -> tuple[np.ndarray, int | None, str]:
    """(HWC uint8 image, label or None, description)."""
    if spec.startswith("cifar:"):
        index = int(spec.split(":", 1)[1])
        d = np.load(data)
        return d["x"][index], int(d["y"][index]), f"CIFAR-10 test image {index}"
    path = Path(spec)
    if path.suffix.lower() == ".npy":
        img = np.load(path)
    else:
        from PIL import Image

        img = np.asarray(Image.open(path).convert("RGB"))
    if img.shape != (32, 32, 3) or img.dtype != np.uint8:
        raise SystemExit(f"{spec}: need a 32x32x3 uint8 image, got {img.shape} {img.dtype}")
    return img, None, str(path)


# ------------------------------------------------------------------------ board operations


def open_link(port: str, baud: int, timeout: float) -> proto.SerialLink:
    import serial

    return proto.SerialLink(serial.Serial(port, baud, timeout=timeout))


def check_caps(info: dict[str, int], params: dict[str, int]) -> None:
    from golden.core_image import CoreConfig

    cfg = CoreConfig.from_rtl_parameters(params)
    caps = info["caps"]
    lanes, max_c_log2, side_log2 = caps & 0xFF, (caps >> 8) & 0xF, (caps >> 12) & 0xF
    want = (cfg.lanes, (cfg.max_c - 1).bit_length(), cfg.max_side_log2)
    if (lanes, max_c_log2, side_log2) != want:
        raise SystemExit(
            f"the bitstream has Lanes {lanes}, log2 MaxC {max_c_log2}, MaxSideLog2 {side_log2};"
            f" the host was told {want}: pass the bitstream's parameters with --param"
        )


def load_model(link: proto.SerialLink, packets: Sequence[Sequence[int]]) -> None:
    words = sum(len(p) for p in packets)
    log.info("loading the model: %d packets, %d words", len(packets), words)
    link.run(proto.load_packets(packets))


def classify(link: proto.SerialLink, image: np.ndarray) -> tuple[int, list[int], int]:
    return link.run(proto.infer(image_packet(image)))


def parse_params(items: Sequence[str]) -> dict[str, int]:
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        if not value:
            raise SystemExit(f"--param wants Name=value, got {item!r}")
        out[name] = int(value, 0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--port", required=True, help="serial port of the VC707 USB-UART")
    ap.add_argument("--baud", type=int, default=115_200)
    ap.add_argument("--timeout", type=float, default=2.0, help="seconds per reply")
    ap.add_argument("--ping", action="store_true", help="only check the bridge and the core")
    ap.add_argument("--model", help="model package (.npz from the exporter)")
    ap.add_argument("--image", action="append", default=[], help="cifar:<i>, .png or .npy")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CIFAR-10 test .npz")
    ap.add_argument("--param", action="append", default=[], help="RTL parameter Name=value")
    ap.add_argument("--check", action="store_true", help="compare with the golden model")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(name)s: %(message)s")  # fmt: skip
    params = parse_params(args.param)

    link = open_link(args.port, args.baud, args.timeout)
    link.resync()
    info = link.run(proto.check_core())
    log.info("core ID 0x%08x, version 0x%08x, caps 0x%08x", info["id"], info["version"],
             info["caps"])  # fmt: skip
    if args.ping:
        return 0
    check_caps(info, params)
    if not args.model:
        raise SystemExit("--model is needed to classify images")
    pkg, packets = model_packets(args.model, params)
    load_model(link, packets)
    mismatches = 0
    for spec in args.image:
        img, label, what = load_image(spec, args.data)
        cls, logits, cycles = classify(link, img)
        name = CIFAR10_CLASSES[cls] if cls < len(CIFAR10_CLASSES) else str(cls)
        truth = "" if label is None else f", label {label}"
        print(f"{what}: class {cls} ({name}){truth}, {cycles} cycles; logits {logits}")
        if args.check:
            from golden.model import run

            golden, _ = run(pkg, img[None])
            want = [int(v) for v in golden[0]]
            if logits != want or cls != int(np.argmax(golden[0])):
                mismatches += 1
                print(f"  MISMATCH: golden class {int(np.argmax(golden[0]))}, logits {want}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
