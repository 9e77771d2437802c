"""Torch models for one layer graph: ANN teacher, T=1 SNN student and the integer-exact QAT model.

All three take pixels as floats in 0..255 (NCHW). The ANN and the SNN divide by 255 first; the
QAT model keeps raw pixels and folds 1/255 into its first-layer weights, so that in eval mode it
computes the integer function of the exported package exactly (integer-valued float tensors).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from .spike import spike, ste_ceil, ste_round

MODES = ("ann", "snn", "qat")


class ConvBN(nn.Module):
    """Conv (no bias) + BN; ReLU in the ANN, Heaviside(BN - vth) in the SNN."""

    def __init__(self, node: dict, mode: str, vth: float, alpha: float):
        super().__init__()
        self.conv = nn.Conv2d(
            node["cin"], node["cout"], node["k"], node["stride"], node["pad"], bias=False
        )
        self.bn = nn.BatchNorm2d(node["cout"])
        self.mode, self.vth, self.alpha = mode, vth, alpha

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.bn(self.conv(x))
        if self.mode == "ann":
            return F.relu(v)
        return spike(v - self.vth, self.alpha)


class QConv(nn.Module):
    """Folded, fake-quantised spiking conv: ``spike = conv(x, w_int) >= theta_int``.

    Parameters keep the units of the SNN student so that the student's learning rate still
    fits: ``weight`` is the sign-folded conv weight (the effective weight is
    ``weight * in_scale``, with ``in_scale = 1/255`` for the first layer because QAT inputs are
    raw pixels) and ``theta`` is ``vth - c`` in BN-output units, i.e. the effective threshold is
    ``theta / gain`` with ``gain = |BN gain|``. Per output channel, ``s = max|w_eff| / 127``,
    ``w_int = round(w_eff / s)`` and ``theta_int = ceil(theta_eff / s)``. The surrogate sees
    ``(acc - theta_int) * s * gain``, the student's membrane ``BN(conv) - vth``. ``max_in`` is
    the largest input value (255 for pixels, 1 for spikes); thresholds are clamped to the
    accumulator bound, which does not change the function.
    """

    def __init__(self, node: dict, max_in: int, alpha: float, in_scale: float = 1.0):
        super().__init__()
        cout, cin, k = node["cout"], node["cin"], node["k"]
        self.weight = nn.Parameter(torch.zeros(cout, cin, k, k))
        self.theta = nn.Parameter(torch.zeros(cout))
        self.register_buffer("gain", torch.ones(cout))
        self.stride, self.pad, self.max_in, self.alpha = node["stride"], node["pad"], max_in, alpha
        self.in_scale = in_scale

    def int_params(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Integer-valued (w_int, theta_int) with straight-through gradients, and the scale."""
        w_eff = self.weight * self.in_scale
        s = w_eff.detach().abs().amax(dim=(1, 2, 3)).clamp_min(1e-12) / 127.0
        w_int = ste_round(w_eff / s[:, None, None, None]).clamp(-127, 127)
        bound = w_int.detach().abs().sum(dim=(1, 2, 3)) * self.max_in + 1
        th = ste_ceil(self.theta / (self.gain * s))
        th = torch.minimum(torch.maximum(th, -bound), bound)
        return w_int, th, s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w_int, th, s = self.int_params()
        acc = F.conv2d(x, w_int, None, self.stride, self.pad)
        u = (acc - th[None, :, None, None]) * (s * self.gain)[None, :, None, None]
        return spike(u, self.alpha)


class QLinear(nn.Module):
    """Fake-quantised classifier on W2TTFS counts: ``logits_int = n @ w_int.T + b_int``.

    One scale for the whole layer, so that the argmax of the integer logits is the argmax of the
    float logits. The float output is ``logits_int * s / ws^2`` (average pooling semantics).
    """

    def __init__(self, node: dict, ws2: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(node["cout"], node["cin"]))
        self.bias = nn.Parameter(torch.zeros(node["cout"]))
        self.ws2 = ws2

    def int_params(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Integer-valued (w_int, b_int) with straight-through gradients, and the scale."""
        s = self.weight.detach().abs().amax().clamp_min(1e-12) / 127.0
        w_int = ste_round(self.weight / s).clamp(-127, 127)
        b_int = ste_round(self.bias * self.ws2 / s).clamp(-(2**30), 2**30)
        return w_int, b_int, s

    def forward(self, n: torch.Tensor, integer: bool = False) -> torch.Tensor:
        w_int, b_int, s = self.int_params()
        logits = n @ w_int.t() + b_int
        return logits if integer else logits * (s / self.ws2)


def conv_max_inputs(spec: list[dict]) -> dict[str, int]:
    """Largest input value of every conv/fc node: 255 for pixels, ws*ws after W2TTFS, else 1."""
    kinds = {n["name"]: n for n in spec}
    out = {}
    for n in spec:
        if n["kind"] in ("conv", "fc"):
            src = n["src"][0]
            if src == "input":
                out[n["name"]] = 255
            elif kinds[src]["kind"] == "w2ttfs":
                out[n["name"]] = kinds[src]["ws"] ** 2
            else:
                out[n["name"]] = 1
    return out


class Net(nn.Module):
    """One layer graph run as ANN teacher, SNN student or QAT model (``mode``)."""

    def __init__(self, spec: list[dict], mode: str, vth: float = 1.0, alpha: float = 2.0):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.spec, self.mode, self.alpha = spec, mode, alpha
        self.layers = nn.ModuleDict()
        max_in = conv_max_inputs(spec)
        ws = {n["name"]: n.get("ws") for n in spec}
        for n in spec:
            if n["kind"] == "conv":
                if mode == "qat":
                    in_scale = 1.0 / 255.0 if n["src"] == ["input"] else 1.0
                    self.layers[n["name"]] = QConv(n, max_in[n["name"]], alpha, in_scale)
                else:
                    self.layers[n["name"]] = ConvBN(n, mode, vth, alpha)
            elif n["kind"] == "fc":
                if mode == "qat":
                    self.layers[n["name"]] = QLinear(n, ws[n["src"][0]] ** 2)
                else:
                    self.layers[n["name"]] = nn.Linear(n["cin"], n["cout"])

    def forward(self, x: torch.Tensor, integer: bool = False) -> torch.Tensor:
        """Logits for pixels ``x`` (float 0..255, NCHW); ``integer`` gives integer QAT logits."""
        if self.mode != "qat":
            x = x / 255.0
        vals = {"input": x}
        out = x
        for n in self.spec:
            kind, src = n["kind"], [vals[s] for s in n["src"]]
            if kind == "conv":
                out = self.layers[n["name"]](src[0])
            elif kind == "maxpool":
                out = F.max_pool2d(src[0], 2, 2)
            elif kind == "or":
                a, b = src
                out = a + b if self.mode == "ann" else a + b - a * b
            elif kind == "qkta":
                out = self._qkta(src[0], src[1], n["heads"], n["theta_tok"])
            elif kind == "qkca":
                out = self._qkca(src[0], src[1], n["theta_ch"])
            elif kind == "w2ttfs":
                ws = n["ws"]
                if self.mode == "qat":
                    out = F.avg_pool2d(src[0], ws, ws, divisor_override=1).flatten(1)
                else:
                    out = F.avg_pool2d(src[0], ws, ws).flatten(1)
            elif kind == "fc":
                layer = self.layers[n["name"]]
                out = layer(src[0], integer=integer) if self.mode == "qat" else layer(src[0])
            vals[n["name"]] = out
        return out

    def _qkta(self, q: torch.Tensor, k: torch.Tensor, heads: int, theta: int) -> torch.Tensor:
        b, c, h, w = q.shape
        qs = q.reshape(b, heads, c // heads, h, w).sum(dim=2, keepdim=True)
        if self.mode == "ann":
            mask = torch.tanh(qs)
        else:
            mask = spike(qs - theta + 0.5, self.alpha)
        return (mask * k.reshape(b, heads, c // heads, h, w)).reshape(b, c, h, w)

    def _qkca(self, q: torch.Tensor, k: torch.Tensor, theta: int) -> torch.Tensor:
        qs = q.sum(dim=(2, 3), keepdim=True)
        if self.mode == "ann":
            mask = torch.tanh(qs / theta)
        else:
            mask = spike(qs - theta + 0.5, self.alpha)
        return mask * k
