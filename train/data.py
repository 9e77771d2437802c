"""CIFAR-10/100 loading (project npz files or official python pickle archives) and augmentation."""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


class DataError(RuntimeError):
    """A data set could not be found or read."""


@dataclass
class Split:
    """Images as uint8 NCHW tensor and int64 labels."""

    x: torch.Tensor
    y: torch.Tensor


@dataclass
class Dataset:
    """Train and test splits with the number of classes."""

    train: Split
    test: Split
    classes: int


def _hwc_to_split(x: np.ndarray, y: np.ndarray) -> Split:
    x = np.ascontiguousarray(np.asarray(x, dtype=np.uint8).transpose(0, 3, 1, 2))
    return Split(torch.from_numpy(x), torch.from_numpy(np.asarray(y, dtype=np.int64)))


def load_npz_test(data_dir: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The CIFAR-10 test set from ``cifar10_test.npz``: x uint8 (N,32,32,3) HWC, y uint8."""
    p = Path(data_dir) / "cifar10_test.npz"
    if not p.is_file():
        raise DataError(f"{p} not found (give the data folder with --data)")
    with np.load(p, allow_pickle=False) as d:
        return d["x"], d["y"]


def _load_npz(data_dir: Path) -> Dataset:
    parts = [data_dir / "cifar10_train_a.npz", data_dir / "cifar10_train_b.npz"]
    xs, ys = [], []
    for p in parts:
        if not p.is_file():
            raise DataError(f"{p} not found")
        with np.load(p, allow_pickle=False) as d:
            xs.append(d["x"])
            ys.append(d["y"])
    xt, yt = load_npz_test(data_dir)
    return Dataset(_hwc_to_split(np.concatenate(xs), np.concatenate(ys)), _hwc_to_split(xt, yt), 10)


def _unpickle(p: Path) -> dict:
    try:
        with open(p, "rb") as f:
            return pickle.load(f, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError) as e:
        raise DataError(f"cannot read {p}: {e}") from e


def _pickle_split(files: list[Path], label_key: bytes) -> Split:
    xs, ys = [], []
    for p in files:
        d = _unpickle(p)
        if b"data" not in d or label_key not in d:
            raise DataError(f"{p}: missing {b'data'!r} or {label_key!r}")
        data = np.asarray(d[b"data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3072:
            raise DataError(f"{p}: data has shape {data.shape}, expected (N, 3072)")
        xs.append(data.reshape(-1, 3, 32, 32))
        ys.append(np.asarray(d[label_key], dtype=np.int64))
    x = np.ascontiguousarray(np.concatenate(xs))
    return Split(torch.from_numpy(x), torch.from_numpy(np.concatenate(ys)))


def load_pickle_cifar(root: str | Path, dataset: str) -> Dataset:
    """Read the official python archives (extracted): cifar-10-batches-py or cifar-100-python."""
    root = Path(root)
    if dataset == "cifar10":
        d = root / "cifar-10-batches-py" if (root / "cifar-10-batches-py").is_dir() else root
        train = [d / f"data_batch_{i}" for i in range(1, 6)]
        test = [d / "test_batch"]
        key, classes = b"labels", 10
    elif dataset == "cifar100":
        d = root / "cifar-100-python" if (root / "cifar-100-python").is_dir() else root
        train, test, key, classes = [d / "train"], [d / "test"], b"fine_labels", 100
    else:
        raise DataError(f"unknown dataset {dataset!r}")
    for p in train + test:
        if not p.is_file():
            raise DataError(f"{p} not found: give the extracted {dataset} python archive")
    return Dataset(_pickle_split(train, key), _pickle_split(test, key), classes)


def load_dataset(dataset: str, data_dir: str | Path | None = None) -> Dataset:
    """CIFAR-10 from the project npz files if present, else the official pickles (CIFAR-100)."""
    data_dir = Path(data_dir) if data_dir else DEFAULT_DATA
    if dataset == "cifar10" and (data_dir / "cifar10_train_a.npz").is_file():
        ds = _load_npz(data_dir)
    else:
        ds = load_pickle_cifar(data_dir, dataset)
    log.info("%s: %d train, %d test images", dataset, len(ds.train.y), len(ds.test.y))
    return ds


def augment(x: torch.Tensor, gen: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random 32x32 crop of the zero-padded image and random horizontal flip; uint8 -> float."""
    n, c, h, w = x.shape
    xp = torch.nn.functional.pad(x.float(), (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    rows = (oy[:, None] + torch.arange(h))[:, None, :, None]
    cols = (ox[:, None] + torch.arange(w))[:, None, None, :]
    out = xp[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]
    flip = torch.rand(n, generator=gen) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(3), out)
