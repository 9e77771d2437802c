"""W2TTFS plus the classifier equals ws*ws times average pooling plus the same layer, on the real
last feature maps of the shipped models (CIFAR-10 test images)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from golden import layers as gl
from golden.model import run
from golden.package import load_package
from verif.core_model import load_images

PACKAGES = sorted((Path(__file__).resolve().parents[2] / "models").glob("*.npz"))


@pytest.mark.parametrize("path", PACKAGES, ids=[p.stem for p in PACKAGES])
def test_w2ttfs_equals_scaled_average_pooling_on_real_maps(path: Path) -> None:
    pkg = load_package(path)
    images, _ = load_images(16)
    logits, trace = run(pkg, images, trace=True)
    (gap,) = [n for n in pkg.layers if n["kind"] == "w2ttfs"]
    (fc,) = [n for n in pkg.layers if n["kind"] == "fc"]
    last_map = trace.layers[gap["src"][0]]["spikes"]  # [N, C, H, W] of the real images
    assert 0 < last_map.mean() < 1, "the real maps must hold both spikes and silence"
    ws = gap["ws"]
    counts = gl.w2ttfs_counts(last_map, ws)
    times = gl.w2ttfs_times(counts, ws)
    w, b = pkg.weight(fc["name"]), pkg.bias(fc["name"])
    n = len(images)
    via_time = gl.ttfs_integrate(times.reshape(n, -1), w, ws, b)
    avg = last_map.reshape(n, last_map.shape[1], -1).mean(axis=2)
    via_avgpool = np.rint(ws * ws * (avg @ w.astype(np.float64).T) + b).astype(np.int64)
    assert np.array_equal(via_time, via_avgpool)
    assert np.array_equal(via_time, logits)
