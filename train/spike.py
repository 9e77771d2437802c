"""Heaviside spike function with an ATan surrogate gradient, and the STE rounding helpers."""

from __future__ import annotations

import math

import torch


class SpikeATan(torch.autograd.Function):
    """Forward: ``u >= 0`` as 0/1 floats. Backward: d/du of ``atan(pi/2*alpha*u)/pi + 1/2``."""

    @staticmethod
    def forward(ctx, u: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(u)
        ctx.alpha = alpha
        return (u >= 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (u,) = ctx.saved_tensors
        a = ctx.alpha
        sg = (a / 2) / (1 + (math.pi / 2 * a * u) ** 2)
        return grad * sg, None


def spike(u: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    """Return ``(u >= 0)`` with the ATan surrogate gradient of slope ``alpha``."""
    return SpikeATan.apply(u, alpha)


def ste_round(x: torch.Tensor) -> torch.Tensor:
    """Round to nearest (ties to even) in the forward pass, identity gradient.

    Written as ``hard + (x - x)`` so that the forward value is exactly the rounded value.
    """
    return torch.round(x).detach() + (x - x.detach())


def ste_ceil(x: torch.Tensor) -> torch.Tensor:
    """Ceiling in the forward pass, identity gradient."""
    return torch.ceil(x).detach() + (x - x.detach())
