"""Data readers (CIFAR-100 pickle format on a tiny file), augmentation and the KD loss."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from train.data import DataError, augment, load_dataset, load_pickle_cifar
from train.losses import kd_loss


def _write_cifar100(root, n_train=6, n_test=4):
    d = root / "cifar-100-python"
    d.mkdir()
    rng = np.random.default_rng(0)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 100, size=n)]
        with open(d / split, "wb") as f:
            pickle.dump({b"data": data, b"fine_labels": labels, b"coarse_labels": labels}, f)
        out[split] = (data, labels)
    return out


def test_cifar100_reader(tmp_path):
    ref = _write_cifar100(tmp_path)
    ds = load_dataset("cifar100", tmp_path)
    assert ds.classes == 100
    assert ds.train.x.shape == (6, 3, 32, 32) and ds.train.x.dtype == torch.uint8
    assert ds.test.y.tolist() == ref["test"][1]
    data = ref["train"][0]
    # official layout: 1024 red, then green, then blue values, each row-major
    assert int(ds.train.x[2, 1, 3, 5]) == int(data[2, 1024 + 3 * 32 + 5])
    ds2 = load_pickle_cifar(tmp_path / "cifar-100-python", "cifar100")
    assert torch.equal(ds2.train.x, ds.train.x)


def test_reader_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_dataset("cifar100", tmp_path)
    d = tmp_path / "cifar-100-python"
    d.mkdir()
    (d / "train").write_bytes(b"garbage")
    (d / "test").write_bytes(b"garbage")
    with pytest.raises(DataError, match="cannot read"):
        load_dataset("cifar100", tmp_path)


def test_augment_crop_and_flip():
    x = torch.arange(2 * 3 * 32 * 32, dtype=torch.int64).reshape(2, 3, 32, 32) % 251
    x = x.to(torch.uint8)
    g = torch.Generator().manual_seed(0)
    seen_shift = seen_flip = False
    for _ in range(20):
        out = augment(x, g)
        assert out.shape == x.shape and out.dtype == torch.float32
        for i in range(2):
            o = out[i]
            for cand in (o, o.flip(2)):
                # a crop of the padded image: find the offset that reproduces it
                for dy in range(-4, 5):
                    for dx in range(-4, 5):
                        ref = torch.zeros_like(o)
                        ys, yd = (
                            slice(max(dy, 0), 32 + min(dy, 0)),
                            slice(max(-dy, 0), 32 + min(-dy, 0)),
                        )
                        xs, xd = (
                            slice(max(dx, 0), 32 + min(dx, 0)),
                            slice(max(-dx, 0), 32 + min(-dx, 0)),
                        )
                        ref[:, yd, xd] = x[i, :, ys, xs].float()
                        if torch.equal(cand, ref):
                            seen_shift |= (dy, dx) != (0, 0)
                            seen_flip |= cand is not o
                            break
                    else:
                        continue
                    break
                else:
                    continue
                break
            else:
                raise AssertionError("output is not a padded crop of the input")
    assert seen_shift and seen_flip


def test_kd_loss():
    torch.manual_seed(0)
    s, t = torch.randn(8, 10), torch.randn(8, 10)
    y = torch.randint(0, 10, (8,))
    ce = torch.nn.functional.cross_entropy(s, y)
    assert torch.allclose(kd_loss(s, y, None), ce)
    assert torch.allclose(kd_loss(s, y, t, alpha=0.0), ce)
    assert torch.allclose(kd_loss(s, y, s.clone(), 4.0, 0.9), 0.1 * ce, atol=1e-6)
    p = torch.softmax(t / 4, 1)
    kl = (p * (p.log() - torch.log_softmax(s / 4, 1))).sum(1).mean()
    assert torch.allclose(kd_loss(s, y, t, 4.0, 0.9), 0.1 * ce + 0.9 * 16 * kl, atol=1e-5)


def test_cifar10_pickle_reader(tmp_path):
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    rng = np.random.default_rng(1)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        data = rng.integers(0, 256, size=(2, 3072), dtype=np.uint8)
        with open(d / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": [1, 9]}, f)
    ds = load_pickle_cifar(tmp_path, "cifar10")
    assert ds.classes == 10 and ds.train.x.shape == (10, 3, 32, 32) and len(ds.test.y) == 2


def test_augment_without_crop_only_flips():
    x = (torch.arange(4 * 3 * 32 * 32) % 251).to(torch.uint8).reshape(4, 3, 32, 32)
    g = torch.Generator().manual_seed(1)
    flips = 0
    for _ in range(10):
        out = augment(x, g, pad=0)
        for i in range(4):
            same, flipped = (
                torch.equal(out[i], x[i].float()),
                torch.equal(out[i], x[i].flip(2).float()),
            )
            assert same or flipped
            flips += flipped
    assert 0 < flips < 40


def test_cli_refuses_a_negative_crop_pad(capsys):
    from train.cli import parse

    cfg, stage = parse(["--crop-pad", "0", "--stage", "student"])
    assert cfg.crop_pad == 0 and stage == "student"
    with pytest.raises(SystemExit):
        parse(["--crop-pad", "-1"])
    assert "--crop-pad must be 0 or more" in capsys.readouterr().err
