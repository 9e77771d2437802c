"""What the whole-core tests expect: model packages (shipped or synthetic), real sample images,
golden results per image and per program op, and the first difference between two maps."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from golden.core_image import CoreConfig, CoreImage, Op, compile_package
from golden.model import run, to_nchw
from golden.package import Package, load_package, validate

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = Path(__file__).resolve().parent / "data" / "cifar10_test_sample.npz"
MODELS = ROOT / "models"


def load_images(n: int, data: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The first `n` CIFAR-10 test images (uint8 HWC) and labels: from the sample shipped in the
    repository, or from `data` (a cifar10_test.npz or a folder holding one) when given."""
    path = Path(data) if data else SAMPLE
    if path.is_dir():
        path = path / "cifar10_test.npz"
    if not path.is_file():
        raise FileNotFoundError(f"no CIFAR-10 test file at {path}")
    d = np.load(path)
    if n > len(d["x"]):
        raise ValueError(f"{path} holds {len(d['x'])} images, {n} asked for")
    return d["x"][:n], d["y"][:n].astype(int)


def synthetic_package(network: str, width: float, seed: int, images: np.ndarray) -> Package:
    """A random network of the given topology, folded and quantised exactly as the exporter
    does, with BN statistics from real images so that every layer spikes."""
    import torch

    from train.export import build_manifest, integer_arrays
    from train.modules import Net
    from train.nets import build_spec
    from train.quant import fold_student

    torch.manual_seed(seed)
    net = Net(build_spec(network, width, 10), "snn", vth=1.0)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = None
                m.weight.uniform_(-1.5, 1.5)
                m.bias.uniform_(-0.5, 1.0)
        net.train()
        net(torch.from_numpy(to_nchw(images)).float())
    qat = fold_student(net.eval(), 1.0).eval()
    arrays = integer_arrays(qat)
    ckpt = {
        "spec": qat.spec,
        "network": network,
        "width": width,
        "classes": 10,
        "stage": "synthetic",
        "history": [],
    }
    manifest = build_manifest(ckpt, arrays, acc_bits=24)
    validate(manifest, arrays, f"synthetic {network}")
    return Package(manifest, arrays, path=f"synthetic_{network}_s{seed}.npz")


def get_package(spec: str, images: np.ndarray) -> Package:
    """`synthetic:<network>:<width>:<seed>` or a package file (relative to models/)."""
    if spec.startswith("synthetic:"):
        _, network, width, seed = spec.split(":")
        return synthetic_package(network, float(width), int(seed), images)
    path = Path(spec)
    if not path.is_absolute() and not path.exists():
        path = MODELS / spec
    return load_package(path)


@dataclass
class Expected:
    """Golden results of one image: class, logits and the value every program op writes."""

    label: int
    cls: int
    logits: list[int]
    op_values: list[np.ndarray]  # per op: [C,H,W] spikes (conv) or logits (classify)


def expectations(pkg: Package, img: CoreImage, images: np.ndarray, labels) -> list[Expected]:
    logits, trace = run(pkg, images, trace=True)
    out = []
    for i in range(len(images)):
        values = []
        for op in img.ops:
            rec = trace.layers[op.layer]
            values.append(rec["logits"][i] if op.kind == "classify" else rec["spikes"][i])
        lg = [int(v) for v in logits[i]]
        out.append(Expected(int(labels[i]), int(np.argmax(logits[i])), lg, values))
    return out


def first_difference(expected: np.ndarray, actual: np.ndarray) -> tuple[int, int, int] | None:
    """(channel, row, column) of the first differing spike in C, H, W order, or None."""
    diff = np.argwhere(np.asarray(expected, np.uint8) != np.asarray(actual, np.uint8))
    return tuple(int(v) for v in diff[0]) if len(diff) else None


def result_compare(expected, actual) -> str | None:
    """Scoreboard comparison of two inference results (StreamItems with `class` and `logits`):
    None when equal, else what differs first."""
    e, a = expected.fields, actual.fields
    if e == a:
        return None
    if e["class"] != a["class"]:
        return f"class {a['class']}, expected {e['class']}"
    bad = [i for i, (x, y) in enumerate(zip(e["logits"], a["logits"], strict=False)) if x != y]
    return f"logits differ at classes {bad[:5]} (len {len(a['logits'])} vs {len(e['logits'])})"


def compile_for(pkg: Package, params: dict, external: str = "auto") -> CoreImage:
    """Compile a package for the core built with the RTL parameters `params`; `external`
    chooses which layers keep their weights in external memory (see compile_package)."""
    return compile_package(pkg, CoreConfig.from_rtl_parameters(params), external)


__all__ = [
    "Expected",
    "Op",
    "compile_for",
    "expectations",
    "first_difference",
    "get_package",
    "load_images",
    "result_compare",
]
