"""The shipped packages: golden integer model and fine-tuned torch model agree on real images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import golden
from train.checkpoint import load_checkpoint
from train.engine import model_from_checkpoint

from .conftest import nchw

MODELS = sorted((Path(__file__).resolve().parents[2] / "models").glob("*.npz"))


def test_packages_are_shipped():
    assert MODELS, "no exported package in models/"


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_shipped_package_agrees_with_torch(path, test_images):
    pkg = golden.load_package(path)
    net = model_from_checkpoint(load_checkpoint(path.with_suffix(".pt")))
    with torch.no_grad():
        t_logits = net(nchw(test_images), integer=True).numpy().astype(np.int64)
    g_logits, g_pred = golden.predict(pkg, test_images)
    assert np.array_equal(g_logits, t_logits)
    assert np.array_equal(g_pred, t_logits.argmax(1))
    # The float checkpoint grows with width squared: 2.3 MB at width 0.25, 9.3 MB at 0.5.
    limit = 4 * 2**20 * max(1.0, (pkg.manifest["width"] / 0.25) ** 2)
    for f in (path, path.with_suffix(".pt")):
        assert f.stat().st_size < limit, f"{f.name}: {f.stat().st_size} bytes, limit {limit:.0f}"
