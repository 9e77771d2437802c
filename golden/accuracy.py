"""CLI: accuracy of the fine-tuned torch model and of the golden integer model, and their agreement.

``python -m golden.accuracy [--model PKG] [--images N] [--data DIR]``. Without ``--model`` it
checks every package in ``models/``. Exit status 1 if any prediction differs.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import numpy as np

from .model import predict
from .package import PackageError, load_package

log = logging.getLogger("golden.accuracy")

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"
DEFAULT_DATA = REPO.parent / "shared" / "data"


def resolve(model: str) -> Path:
    """A package path from a path or a bare name in ``models/``."""
    p = Path(model)
    if p.suffix != ".npz":
        p = p.with_suffix(".npz")
    if not p.exists() and (MODELS / p.name).exists():
        p = MODELS / p.name
    return p


def torch_predict(pt_path: Path, images: np.ndarray, threads: int, batch: int = 500):
    """Integer logits of the fine-tuned torch QAT model (eval mode)."""
    import torch

    from train.checkpoint import load_checkpoint
    from train.engine import model_from_checkpoint

    torch.set_num_threads(threads)
    net = model_from_checkpoint(load_checkpoint(pt_path)).to(memory_format=torch.channels_last)
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(images[i : i + batch].transpose(0, 3, 1, 2).copy()).float()
            out.append(net(x.contiguous(memory_format=torch.channels_last), integer=True))
    return torch.cat(out).numpy().astype(np.int64)


def evaluate(pkg_path: Path, x: np.ndarray, y: np.ndarray, threads: int) -> dict:
    """Accuracies, agreement and golden throughput for one package."""
    pkg = load_package(pkg_path)
    t0 = time.time()
    g_logits, g_pred = predict(pkg, x)
    g_secs = time.time() - t0
    row = {
        "package": pkg_path.stem,
        "images": len(y),
        "golden_acc": 100.0 * float((g_pred == y).mean()),
        "golden_img_s": len(y) / g_secs,
    }
    pt = pkg_path.with_suffix(".pt")
    if pt.exists():
        t_logits = torch_predict(pt, x, threads)
        t_pred = t_logits.argmax(1)
        row["torch_acc"] = 100.0 * float((t_pred == y).mean())
        row["agree"] = 100.0 * float((t_pred == g_pred).mean())
        row["logits_equal"] = int((t_logits == g_logits).all(axis=1).sum())
    else:
        log.warning("%s: no fine-tuned torch model next to the package", pt)
    return row


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    p = argparse.ArgumentParser(
        prog="python -m golden.accuracy", description=__doc__.split("\n")[0]
    )
    p.add_argument(
        "--model",
        action="append",
        help="package path or name (repeatable); default: every models/*.npz",
    )
    p.add_argument("--images", type=int, default=10000, help="first N CIFAR-10 test images")
    p.add_argument("--data", default=str(DEFAULT_DATA), help="folder with cifar10_test.npz")
    p.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="torch threads (numpy's BLAS follows OPENBLAS_NUM_THREADS)",
    )
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    paths = [resolve(m) for m in a.model] if a.model else sorted(MODELS.glob("*.npz"))
    if not paths:
        log.error("no packages found in %s", MODELS)
        return 2
    data = Path(a.data) / "cifar10_test.npz"
    if not data.is_file():
        log.error("%s not found (give --data)", data)
        return 2
    with np.load(data, allow_pickle=False) as d:
        x, y = d["x"][: a.images], d["y"][: a.images].astype(np.int64)
    rows, status = [], 0
    for path in paths:
        try:
            row = evaluate(path, x, y, a.threads)
        except PackageError as e:
            log.error("%s", e)
            status = 2
            continue
        rows.append(row)
        if row.get("agree", 100.0) < 100.0:
            status = max(status, 1)
    hdr = (
        f"{'package':<24}{'images':>8}{'torch %':>9}{'golden %':>10}{'agree %':>9}"
        f"{'logits==':>10}{'golden img/s':>14}"
    )
    print(hdr)
    for r in rows:
        print(
            f"{r['package']:<24}{r['images']:>8}{r.get('torch_acc', float('nan')):>9.2f}"
            f"{r['golden_acc']:>10.2f}{r.get('agree', float('nan')):>9.2f}"
            f"{r.get('logits_equal', -1):>10}{r['golden_img_s']:>14.1f}"
        )
    return status


if __name__ == "__main__":
    raise SystemExit(main())
