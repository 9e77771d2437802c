"""Checkpoint resume: an interrupted stage continues from its last finished epoch."""

from __future__ import annotations

import pytest
import torch

import train.engine as engine
from train.checkpoint import load_checkpoint
from train.data import Dataset, Split
from train.export import provenance


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


def test_student_optimizer_is_recorded(tmp_path):
    ds = tiny_dataset()
    base = dict(epochs=1, batch=32, threads=1, runs=str(tmp_path), width=0.125, max_steps=1)
    engine.train_stage(engine.Config(**base), "teacher", ds)
    cfg = engine.Config(student_optimizer="adamw", lr_student=1e-3, wd_student=0.01, **base)
    engine.train_stage(cfg, "student", ds)
    ck = load_checkpoint(cfg.run_dir() / "student_kd.pt", "student_kd")
    assert ck["config"]["student_optimizer"] == "adamw"
    assert "exp_avg" in next(iter(ck["opt"]["state"].values()))  # AdamW state, not momentum
    assert ck["opt"]["param_groups"][0]["weight_decay"] == 0.01
    # the teacher is trained with SGD and --wd whatever the student uses
    t = load_checkpoint(cfg.run_dir() / "teacher.pt", "teacher")
    assert "momentum_buffer" in next(iter(t["opt"]["state"].values()))
    assert t["opt"]["param_groups"][0]["weight_decay"] == cfg.wd


def test_resume_with_another_optimizer_is_refused(tmp_path, monkeypatch):
    ds = tiny_dataset()
    base = dict(batch=32, threads=1, runs=str(tmp_path), width=0.125, kd=0, max_steps=1)
    engine.train_stage(engine.Config(epochs=1, **base), "teacher", ds)
    real = engine.write_history

    def crash(path, history):
        real(path, history)
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "write_history", crash)
    cfg = engine.Config(epochs=2, student_optimizer="adamw", lr_student=1e-3, **base)
    with pytest.raises(KeyboardInterrupt):
        engine.train_stage(cfg, "student", ds)
    monkeypatch.setattr(engine, "write_history", real)
    sgd = engine.Config(epochs=2, **base)
    with pytest.raises(RuntimeError, match="trained with adamw, not sgd"):
        engine.train_stage(sgd, "student", ds)
    ck = load_checkpoint(cfg.run_dir() / "student_nokd.pt", "student_nokd")
    assert ck["epoch"] == 1  # the refused resume left the checkpoint alone
    engine.train_stage(cfg, "student", ds)
    assert load_checkpoint(cfg.run_dir() / "student_nokd.pt", "student_nokd")["done"]


def test_package_provenance_records_the_student_recipe(tmp_path):
    ds = tiny_dataset()
    cfg = engine.Config(
        epochs=1,
        batch=32,
        threads=1,
        runs=str(tmp_path),
        width=0.125,
        max_steps=1,
        crop_pad=0,
        qat_epochs=1,
        lr_student=0.02,
    )
    for stage in ("teacher", "student", "qat"):
        engine.train_stage(cfg, stage, ds)
    qat = cfg.run_dir() / "qat_kd.pt"
    p = provenance(qat, load_checkpoint(qat))
    assert p["teacher_epochs"] == p["student_epochs"] == p["qat_epochs"] == 1
    r = p["student_recipe"]
    assert r["crop_pad"] == 0 and r["lr_student"] == 0.02 and r["student_optimizer"] == "sgd"
