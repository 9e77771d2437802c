"""Knowledge-distillation loss: (1-a)*CE + a*T^2*KL(softmax(teacher/T) || softmax(student/T))."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812


def kd_loss(
    student: torch.Tensor,
    target: torch.Tensor,
    teacher: torch.Tensor | None,
    temperature: float = 4.0,
    alpha: float = 0.9,
) -> torch.Tensor:
    """KD loss; plain cross-entropy when ``teacher`` is None or ``alpha`` is 0."""
    ce = F.cross_entropy(student, target)
    if teacher is None or alpha == 0:
        return ce
    t = temperature
    kl = F.kl_div(
        F.log_softmax(student / t, dim=1),
        F.log_softmax(teacher / t, dim=1),
        reduction="batchmean",
        log_target=True,
    )
    return (1 - alpha) * ce + alpha * t * t * kl
