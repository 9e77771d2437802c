"""Export a fine-tuned QAT checkpoint to a versioned integer model package (``models/*.npz``).

Usage: ``python -m train.export --ckpt runs/vgg11_w025_cifar10/qat_kd.pt --out models/x.npz``.
The exporter proves that no accumulator can overflow ``--acc-bits`` signed bits and refuses the
model otherwise, naming the layer. Next to the package it writes the fine-tuned torch model
(``.pt``, no optimizer state) that ``python -m golden.accuracy`` compares against.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
from pathlib import Path

import numpy as np
import torch

from golden.package import FORMAT, VERSION, OverflowRiskError, accumulator_bounds, check_overflow
from golden.package import validate as validate_package

from .checkpoint import CheckpointError, atomic_write, load_checkpoint, save_checkpoint
from .engine import model_from_checkpoint
from .modules import Net, QConv, QLinear

log = logging.getLogger(__name__)

DEFAULT_ACC_BITS = 24


class ExportError(RuntimeError):
    """The model cannot be exported (bad checkpoint, wrong stage, or overflow risk)."""


@torch.no_grad()
def integer_arrays(net: Net) -> dict[str, np.ndarray]:
    """The integer weights/thresholds/bias of a QAT model, exactly as its forward uses them."""
    if net.mode != "qat":
        raise ExportError("only a QAT model can be exported")
    arrays: dict[str, np.ndarray] = {}
    for n in net.spec:
        layer = net.layers[n["name"]] if n["name"] in net.layers else None
        if isinstance(layer, QConv):
            w, th, _ = layer.int_params()
            arrays[f"{n['name']}.weight"] = _to_int(w, np.int8, n["name"])
            arrays[f"{n['name']}.theta"] = _to_int(th, np.int32, n["name"])
        elif isinstance(layer, QLinear):
            w, b, _ = layer.int_params()
            arrays[f"{n['name']}.weight"] = _to_int(w, np.int8, n["name"])
            arrays[f"{n['name']}.bias"] = _to_int(b, np.int32, n["name"])
    return arrays


def _to_int(t: torch.Tensor, dtype, name: str) -> np.ndarray:
    a = t.detach().double().numpy()
    if not np.all(np.isfinite(a)) or not np.array_equal(a, np.round(a)):
        raise ExportError(f"layer {name!r}: parameters are not integer-valued")
    info = np.iinfo(dtype)
    if a.min(initial=0) < info.min or a.max(initial=0) > info.max:
        raise ExportError(f"layer {name!r}: values outside {np.dtype(dtype)}")
    return a.astype(dtype)


# Student settings recorded in a package's manifest, so that a result can be retrained.
RECIPE_KEYS = (
    "student_optimizer",
    "lr_student",
    "wd",
    "wd_student",
    "crop_pad",
    "temperature",
    "kd_alpha",
    "vth",
    "surrogate_alpha",
    "warm_start",
    "batch",
    "seed",
)


def provenance(ckpt_path: str | Path, ckpt: dict) -> dict:
    """Epochs and last-epoch test accuracy of the teacher, student and QAT stages of a run."""
    if ckpt.get("training"):
        return dict(ckpt["training"])
    run = Path(ckpt_path).parent
    tag = ckpt["stage"].split("_", 1)[-1]
    out: dict = {}
    for key, fname in (("teacher", "teacher.pt"), ("student", f"student_{tag}.pt")):
        try:
            c = load_checkpoint(run / fname)
        except CheckpointError:
            continue
        h = c.get("history") or []
        out[f"{key}_epochs"] = len(h)
        out[f"{key}_test_acc"] = h[-1]["test_acc"] if h else None
        if key == "student":
            cfg = c.get("config") or {}
            out["student_recipe"] = {k: cfg[k] for k in RECIPE_KEYS if k in cfg}
    h = ckpt.get("history") or []
    out["qat_initial_test_acc"] = ckpt.get("initial_acc")
    out["qat_epochs"] = len(h)
    out["qat_test_acc"] = h[-1]["test_acc"] if h else None
    return out


def build_manifest(
    ckpt: dict, arrays: dict[str, np.ndarray], acc_bits: int, training: dict | None = None
) -> dict:
    """Manifest JSON object for a QAT checkpoint and its integer arrays."""
    layers = []
    bounds = accumulator_bounds(ckpt["spec"], arrays)
    for n in ckpt["spec"]:
        d = {k: v for k, v in n.items()}
        if n["kind"] in ("conv", "fc"):
            d["weight"] = f"{n['name']}.weight"
            d["theta" if n["kind"] == "conv" else "bias"] = (
                f"{n['name']}.theta" if n["kind"] == "conv" else f"{n['name']}.bias"
            )
            d["acc_bound"] = bounds[n["name"]]["bound"]
            d["acc_bits_required"] = bounds[n["name"]]["bits"]
        layers.append(d)
    hist = ckpt.get("history") or []
    return {
        "format": FORMAT,
        "version": VERSION,
        "network": ckpt["network"],
        "width": ckpt["width"],
        "dataset": ckpt.get("dataset", "cifar10"),
        "classes": ckpt["classes"],
        "kd": ckpt["stage"].endswith("_kd"),
        "acc_bits": acc_bits,
        "input": {"shape": [3, 32, 32], "dtype": "uint8", "layout": "CHW", "max": 255},
        "spike_layout": "uint8 0/1, [C, H, W] per image",
        "weight_layout": {"conv": "[cout, cin, ky, kx]", "fc": "[cout, cin]"},
        "neuron": "spike = acc >= theta; fc logits = acc + bias; class = lowest argmax",
        "layers": layers,
        "qat_test_acc": hist[-1]["test_acc"] if hist else None,
        "qat_epochs": len(hist),
        "training": training or {},
    }


def export_package(
    ckpt_path: str | Path, out: str | Path, acc_bits: int = DEFAULT_ACC_BITS
) -> dict:
    """Export a QAT checkpoint to ``out`` (.npz) plus ``out`` with suffix .pt; returns manifest."""
    try:
        ckpt = load_checkpoint(ckpt_path)
    except CheckpointError as e:
        raise ExportError(str(e)) from e
    if ckpt["mode"] != "qat":
        raise ExportError(f"{ckpt_path}: stage {ckpt['stage']!r} is not a QAT checkpoint")
    try:
        net = model_from_checkpoint(ckpt)
    except (RuntimeError, KeyError, ValueError, TypeError) as e:
        raise ExportError(f"{ckpt_path}: weights do not fit the stored network ({e})") from e
    arrays = integer_arrays(net)
    try:
        check_overflow(ckpt["spec"], arrays, acc_bits)
    except OverflowRiskError as e:
        raise ExportError(f"refusing to export {ckpt_path}: {e}") from e
    training = provenance(ckpt_path, ckpt)
    manifest = build_manifest(ckpt, arrays, acc_bits, training)
    validate_package(manifest, arrays, str(out))
    out = Path(out)

    def write(f):
        buf = io.BytesIO()
        np.savez_compressed(buf, manifest=np.array(json.dumps(manifest)), **arrays)
        f.write(buf.getvalue())

    atomic_write(out, write)
    slim = {
        k: ckpt[k]
        for k in (
            "stage",
            "network",
            "width",
            "dataset",
            "classes",
            "spec",
            "mode",
            "vth",
            "alpha",
            "epoch",
            "epochs",
            "history",
        )
        if k in ckpt
    }
    slim.update({"model": net.state_dict(), "done": True, "training": training})
    save_checkpoint(out.with_suffix(".pt"), slim)
    log.info("wrote %s and %s", out, out.with_suffix(".pt"))
    return manifest


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    p = argparse.ArgumentParser(prog="python -m train.export", description=__doc__.split("\n")[0])
    p.add_argument("--ckpt", required=True, help="QAT checkpoint (runs/<net>/qat_kd.pt)")
    p.add_argument("--out", required=True, help="package path, e.g. models/vgg11_w025_kd.npz")
    p.add_argument(
        "--acc-bits",
        type=int,
        default=DEFAULT_ACC_BITS,
        help="signed accumulator width of the hardware (default %(default)s)",
    )
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        m = export_package(a.ckpt, a.out, a.acc_bits)
    except ExportError as e:
        log.error("%s", e)
        return 2
    need = max(n.get("acc_bits_required", 0) for n in m["layers"])
    log.info("accumulators need at most %d signed bits (configured %d)", need, a.acc_bits)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
