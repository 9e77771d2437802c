"""Checkpoint resume: an interrupted stage continues from its last finished epoch."""

from __future__ import annotations

import pytest
import torch

import train.engine as engine
from train.checkpoint import load_checkpoint
from train.data import Dataset, Split


def tiny_dataset(n=64):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    return Dataset(Split(x, y), Split(x[:32], y[:32]), 10)


def test_interrupted_stage_resumes(tmp_path, monkeypatch):
    cfg = engine.Config(epochs=2, batch=32, threads=1, runs=str(tmp_path), width=0.125)
    ds = tiny_dataset()
    real = engine.write_history
    calls = []

    def crash_once(path, history):
        calls.append(len(history))
        if len(calls) == 1:
            raise KeyboardInterrupt  # after the epoch-1 checkpoint was written
        real(path, history)

    monkeypatch.setattr(engine, "write_history", crash_once)
    with pytest.raises(KeyboardInterrupt):
        engine.train_stage(cfg, "teacher", ds)
    ck = load_checkpoint(cfg.run_dir() / "teacher.pt", "teacher")
    assert ck["epoch"] == 1 and not ck["done"]
    engine.train_stage(cfg, "teacher", ds)
    ck = load_checkpoint(cfg.run_dir() / "teacher.pt", "teacher")
    assert ck["done"] and [h["epoch"] for h in ck["history"]] == [1, 2]
    assert calls == [1, 2]
    # a finished stage is not trained again
    engine.train_stage(cfg, "teacher", ds)
    assert calls == [1, 2]
