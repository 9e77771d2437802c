"""Whole-network integer inference over a package, batched, with an optional per-layer trace."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import layers as gl
from .package import Package


@dataclass
class Trace:
    """Per-layer values of one batch, keyed by layer name.

    conv: ``acc`` (int64 [N,C,H,W]) and ``spikes`` (uint8); maxpool/or: ``spikes``;
    qkta/qkca: ``mask`` ([N,heads,H,W] / [N,C]) and ``spikes``; w2ttfs: ``counts``
    ([N,C,h,w]) and ``times`` (slot, -1 = none); fc: ``logits`` (int64 [N,classes]).
    """

    layers: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def to_nchw(images: np.ndarray) -> np.ndarray:
    """uint8 images as [N,3,H,W]; accepts [N,H,W,3] (the npz layout) or [N,3,H,W]."""
    x = np.asarray(images)
    if x.dtype != np.uint8 or x.ndim != 4:
        raise ValueError(f"images must be uint8 [N,H,W,3] or [N,3,H,W], got {x.dtype}{x.shape}")
    if x.shape[1] == 3:
        return x
    if x.shape[3] == 3:
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    raise ValueError(f"cannot tell the channel axis of shape {x.shape}")


def run(pkg: Package, images: np.ndarray, trace: bool = False):
    """Run the integer network on uint8 images; returns ``(logits, trace or None)``."""
    x = to_nchw(images)
    vals: dict[str, np.ndarray] = {"input": x}
    tr = Trace() if trace else None
    out = None
    for n in pkg.layers:
        name, kind = n["name"], n["kind"]
        src = [vals[s] for s in n["src"]]
        rec: dict[str, np.ndarray] = {}
        if kind == "conv":
            w, th = pkg.weight(name), pkg.theta(name)
            if n["src"] == ["input"]:
                acc = gl.first_layer_acc(src[0], w, n["stride"], n["pad"])
            else:
                acc = gl.conv_acc(src[0], w, n["stride"], n["pad"])
            out = gl.fire(acc, th)
            rec = {"acc": acc, "spikes": out}
        elif kind == "maxpool":
            out = gl.maxpool_or(src[0])
            rec = {"spikes": out}
        elif kind == "or":
            out = gl.or_residual(src[0], src[1])
            rec = {"spikes": out}
        elif kind == "qkta":
            out, mask = gl.qkta(src[0], src[1], n["heads"], n["theta_tok"])
            rec = {"mask": mask, "spikes": out}
        elif kind == "qkca":
            out, mask = gl.qkca(src[0], src[1], n["theta_ch"])
            rec = {"mask": mask, "spikes": out}
        elif kind == "w2ttfs":
            out = gl.w2ttfs_counts(src[0], n["ws"])
            rec = {"counts": out, "times": gl.w2ttfs_times(out, n["ws"])}
        elif kind == "fc":
            counts = src[0].reshape(src[0].shape[0], -1)
            out = gl.fc_logits(counts, pkg.weight(name), pkg.bias(name))
            rec = {"logits": out}
        vals[name] = out
        if tr is not None:
            tr.layers[name] = rec
    return out, tr


def predict(pkg: Package, images: np.ndarray, batch: int = 250) -> tuple[np.ndarray, np.ndarray]:
    """Logits (int64) and classes of many images, in batches."""
    x = to_nchw(images)
    logits = [run(pkg, x[i : i + batch])[0] for i in range(0, len(x), batch)]
    lg = np.concatenate(logits) if logits else np.zeros((0, pkg.manifest["classes"]), np.int64)
    return lg, gl.classify(lg)
