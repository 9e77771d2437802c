"""DistributedDataParallel smoke test: two CPU processes (gloo) under torchrun for a few steps."""

from __future__ import annotations

import os
import subprocess
import sys

from train.checkpoint import load_checkpoint


def test_torchrun_two_processes(tmp_path, repo):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(repo))
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29517",
        "-m",
        "train",
        "--stage",
        "student",
        "--kd",
        "1",
        "--subset",
        "256",
        "--test-subset",
        "200",
        "--max-steps",
        "2",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--batch",
        "64",
        "--runs",
        str(tmp_path),
        "--warm-start",
        "1",
    ]
    # a teacher first (single process), then a 2-process KD student on top of it
    single = [
        sys.executable,
        "-m",
        "train",
        "--stage",
        "teacher",
        "--subset",
        "256",
        "--test-subset",
        "200",
        "--max-steps",
        "2",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--batch",
        "64",
        "--runs",
        str(tmp_path),
    ]
    r = subprocess.run(single, cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    ck = load_checkpoint(tmp_path / "vgg11_w025_cifar10_sub256" / "student_kd.pt", "student_kd")
    assert ck["done"] and len(ck["history"]) == 1
    assert 0.0 <= ck["history"][0]["test_acc"] <= 100.0
    assert (tmp_path / "vgg11_w025_cifar10_sub256" / "student_kd.csv").is_file()
