"""Shared fixtures: one torch thread, real test images, small calibrated networks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from train.data import DEFAULT_DATA, load_npz_test
from train.modules import Net
from train.nets import build_spec
from train.quant import fold_student

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def test_images() -> np.ndarray:
    """First 64 real CIFAR-10 test images (uint8 HWC)."""
    x, _ = load_npz_test(DEFAULT_DATA)
    return x[:64]


def nchw(x: np.ndarray) -> torch.Tensor:
    """uint8 HWC numpy images -> float NCHW tensor of pixels 0..255."""
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).float()


@torch.no_grad()
def calibrated_student(network: str, width: float, images: np.ndarray, seed: int = 0) -> Net:
    """A random SNN student whose BN statistics come from real images (non-trivial spikes).

    Some BN gains are made negative, so folding has to negate weights and thresholds.
    """
    torch.manual_seed(seed)
    net = Net(build_spec(network, width, 10), "snn", vth=1.0)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None
            m.weight.uniform_(-1.5, 1.5)
            m.bias.uniform_(-0.5, 1.0)
    net.train()
    net(nchw(images))
    return net.eval()


def qat_from_student(student: Net) -> Net:
    """Folded QAT model of a student, eval mode."""
    return fold_student(student, student_vth(student)).eval()


def student_vth(student: Net) -> float:
    """Threshold used by the student's neurons."""
    return next(m.vth for m in student.modules() if hasattr(m, "vth"))


@pytest.fixture
def repo() -> Path:
    """Repository root."""
    return Path(__file__).resolve().parents[2]
