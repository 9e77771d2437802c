"""Layer graphs of VGG-11, ResNet-11 and QKFResNet-11, shared by the torch models and the exporter.

A network is a list of nodes (plain dicts) in execution order. Every node has ``name``, ``kind``
and ``src`` (a list of earlier node names; ``"input"`` is the uint8 image). Kinds:

- ``conv``: spiking conv, fields ``cin, cout, k, stride, pad``.
- ``maxpool``: 2x2 stride-2 max pooling of spikes (OR).
- ``or``: OR of two spike maps of the same shape (SEW residual).
- ``qkta``: token attention, ``src = [q, k]``, fields ``heads, theta_tok``.
- ``qkca``: channel attention, ``src = [q, k]``, field ``theta_ch``.
- ``w2ttfs``: spike counts over ``ws x ws`` windows (global here), field ``ws``.
- ``fc``: classifier fed by W2TTFS counts, fields ``cin, cout``; its accumulators are the logits.
"""

from __future__ import annotations

import math

NETWORKS = ("vgg11", "resnet11", "qkfresnet11")


def scaled(c: int, width: float) -> int:
    """Channel count ``c`` scaled by the width multiplier (at least 1)."""
    return max(1, round(c * width))


def width_tag(width: float) -> str:
    """Short tag for a width multiplier: 0.25 -> ``w025``, 1.0 -> ``w100``."""
    return f"w{round(width * 100):03d}"


def _conv(name, src, cin, cout, k=3, stride=1):
    return {
        "name": name,
        "kind": "conv",
        "src": [src],
        "cin": cin,
        "cout": cout,
        "k": k,
        "stride": stride,
        "pad": 1 if k == 3 else 0,
    }


def vgg11(width: float, classes: int) -> list[dict]:
    """VGG-11: conv 64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, W2TTFS (ws=2), FC."""
    cfg = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512]
    nodes: list[dict] = []
    prev, cin, ci, pi = "input", 3, 0, 0
    for v in cfg:
        if v == "M":
            pi += 1
            nodes.append({"name": f"pool{pi}", "kind": "maxpool", "src": [prev]})
            prev = f"pool{pi}"
        else:
            ci += 1
            c = scaled(v, width)
            nodes.append(_conv(f"conv{ci}", prev, cin, c))
            prev, cin = f"conv{ci}", c
    nodes.append({"name": "gap", "kind": "w2ttfs", "src": [prev], "ws": 2})
    nodes.append({"name": "fc", "kind": "fc", "src": ["gap"], "cin": cin, "cout": classes})
    return nodes


def _attention(nodes, kind, idx, prev, c, hw, heads):
    q, k, a, p, r = (f"{kind}{idx}_{s}" for s in ("q", "k", "att", "proj", "res"))
    nodes.append(_conv(q, prev, c, c, k=1))
    nodes.append(_conv(k, prev, c, c, k=1))
    if kind == "qkta":
        nodes.append(
            {"name": a, "kind": "qkta", "src": [q, k], "heads": min(heads, c), "theta_tok": 1}
        )
    else:
        theta = max(1, hw // 4)
        nodes.append({"name": a, "kind": "qkca", "src": [q, k], "theta_ch": theta})
    nodes.append(_conv(p, a, c, c, k=1))
    nodes.append({"name": r, "kind": "or", "src": [p, prev]})
    return r


def resnet11(width: float, classes: int, attention: bool = False, heads: int = 8) -> list[dict]:
    """ResNet-11 (two stem convs, four basic blocks); with ``attention`` it is QKFResNet-11."""
    c0 = scaled(64, width)
    nodes = [_conv("stem1", "input", 3, c0), _conv("stem2", "stem1", c0, c0)]
    prev, cin, hw = "stem2", c0, 32
    for i, (cw, s) in enumerate(zip((64, 128, 256, 512), (1, 2, 2, 2), strict=True), start=1):
        c = scaled(cw, width)
        nodes.append(_conv(f"b{i}c1", prev, cin, c, stride=s))
        nodes.append(_conv(f"b{i}c2", f"b{i}c1", c, c))
        if s != 1 or cin != c:
            nodes.append(_conv(f"b{i}sc", prev, cin, c, k=1, stride=s))
            short = f"b{i}sc"
        else:
            short = prev
        nodes.append({"name": f"b{i}", "kind": "or", "src": [f"b{i}c2", short]})
        prev, cin, hw = f"b{i}", c, hw // s
        if attention and i in (1, 2):
            prev = _attention(nodes, "qkta", i, prev, c, hw * hw, heads)
        if attention and i == 3:
            prev = _attention(nodes, "qkca", i, prev, c, hw * hw, heads)
    nodes.append({"name": "gap", "kind": "w2ttfs", "src": [prev], "ws": hw})
    nodes.append({"name": "fc", "kind": "fc", "src": ["gap"], "cin": cin, "cout": classes})
    return nodes


def build_spec(network: str, width: float, classes: int) -> list[dict]:
    """Layer graph of ``network`` at ``width`` for ``classes`` outputs, with shapes filled in."""
    if network == "vgg11":
        nodes = vgg11(width, classes)
    elif network == "resnet11":
        nodes = resnet11(width, classes)
    elif network == "qkfresnet11":
        nodes = resnet11(width, classes, attention=True)
    else:
        raise ValueError(f"unknown network {network!r}; choose one of {', '.join(NETWORKS)}")
    return infer_shapes(nodes, (3, 32, 32))


def infer_shapes(nodes: list[dict], input_shape: tuple[int, int, int]) -> list[dict]:
    """Add ``out_shape`` [C, H, W] to every node (W2TTFS and FC give [C, 1, 1] / [C])."""
    shapes = {"input": tuple(input_shape)}
    for n in nodes:
        s = shapes[n["src"][0]]
        kind = n["kind"]
        if kind == "conv":
            if s[0] != n["cin"]:
                raise ValueError(f"{n['name']}: expects {n['cin']} input channels, got {s[0]}")
            h = (s[1] + 2 * n["pad"] - n["k"]) // n["stride"] + 1
            w = (s[2] + 2 * n["pad"] - n["k"]) // n["stride"] + 1
            out = (n["cout"], h, w)
        elif kind == "maxpool":
            out = (s[0], s[1] // 2, s[2] // 2)
        elif kind in ("or", "qkta", "qkca"):
            if shapes[n["src"][1]] != s:
                raise ValueError(f"{n['name']}: input shapes differ")
            out = s
        elif kind == "w2ttfs":
            ws = n["ws"]
            out = (s[0], s[1] // ws, s[2] // ws)
        elif kind == "fc":
            if math.prod(s) != n["cin"]:
                raise ValueError(f"{n['name']}: expects {n['cin']} inputs, got {math.prod(s)}")
            out = (n["cout"],)
        else:
            raise ValueError(f"unknown node kind {kind!r}")
        n["out_shape"] = list(out)
        shapes[n["name"]] = out
    return nodes
