"""BN folding of a trained SNN student into the QAT model (negative gains negate w and theta)."""

from __future__ import annotations

import torch

from .modules import ConvBN, Net, QConv, QLinear


@torch.no_grad()
def fold_conv_bn(conv_w: torch.Tensor, bn: torch.nn.BatchNorm2d, vth: float):
    """Fold ``spike = BN(conv(x, w)) >= vth`` into ``conv(x, w_f) >= theta / gain``.

    With ``a = gamma/sqrt(var+eps)`` and ``c = beta - a*mean`` the neuron fires when
    ``a*y + c >= vth`` (``y = conv(x, w)``). For ``a > 0`` that is ``y >= (vth-c)/|a|``; for
    ``a < 0`` it is ``-y >= (vth-c)/|a|``, so the weights (and with them the comparison) are
    negated. Returns ``(w_f = sign(a)*w, theta = vth - c, gain = |a|)``. A channel with
    ``a == 0`` is constant: zero weights, gain 1 and theta -1 (always fires) or +1 (never).
    """
    a = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    c = bn.bias - a * bn.running_mean
    zero = a.abs() < 1e-12
    w_f = conv_w * torch.sign(a)[:, None, None, None]
    theta = vth - c
    w_f[zero] = 0.0
    theta[zero] = torch.where(c[zero] >= vth, -1.0, 1.0).to(theta.dtype)
    gain = torch.where(zero, torch.ones_like(a), a.abs())
    return w_f, theta, gain


@torch.no_grad()
def fold_student(student: Net, vth: float) -> Net:
    """Build the QAT model from a trained SNN student (BN folded, float weights)."""
    if student.mode != "snn":
        raise ValueError("fold_student expects an SNN student")
    qat = Net(student.spec, "qat", vth=vth, alpha=student.alpha)
    ws2 = {n["name"]: n["ws"] ** 2 for n in student.spec if n["kind"] == "w2ttfs"}
    for n in student.spec:
        name = n["name"]
        if n["kind"] == "conv":
            src: ConvBN = student.layers[name]
            dst: QConv = qat.layers[name]
            w_f, th_f, gain = fold_conv_bn(src.conv.weight, src.bn, vth)
            dst.weight.copy_(w_f)
            dst.theta.copy_(th_f)
            dst.gain.copy_(gain)
        elif n["kind"] == "fc":
            lin = student.layers[name]
            dst_fc: QLinear = qat.layers[name]
            if ws2[n["src"][0]] != dst_fc.ws2:
                raise ValueError("fc ws mismatch")
            dst_fc.weight.copy_(lin.weight)
            dst_fc.bias.copy_(lin.bias)
    return qat
