"""Shared helpers of the conv_layer tests (no cocotb tests here): stimulus and expected output.

Everything here is plain Python and numpy: it packs a layer into the engine's load streams
(descriptor, input words, weight rows, threshold rows, residual words) and predicts the output
words from the golden single-layer functions."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from golden import layers as gl
from golden.core_image import map_words, pixel_words
from golden.core_image import threshold_rows as core_threshold_rows
from golden.core_image import weight_rows as core_weight_rows

DENSITIES = [0.0, 0.02, 0.1, 0.3, 0.5, 0.9, 1.0]
DENSITY_BINS = ["0%", "<=10%", "<=50%", "<100%", "100%"]


def density_bin(frac: float) -> str:
    if frac <= 0.0:
        return "0%"
    if frac >= 1.0:
        return "100%"
    return "<=10%" if frac <= 0.1 else "<=50%" if frac <= 0.5 else "<100%"


def groups_bin(groups: int) -> str:
    return "1" if groups == 1 else "2-3" if groups <= 3 else ">=4"


@dataclass
class LayerShape:
    cin: int
    cout: int
    h: int
    w: int
    k: int = 3
    stride: int = 1
    pool: bool = False
    residual: bool = False
    pixel: bool = False
    density: float = 0.3

    @property
    def ho(self) -> int:
        return (self.h + 1) // 2 if self.stride == 2 else self.h

    @property
    def wo(self) -> int:
        return (self.w + 1) // 2 if self.stride == 2 else self.w

    @property
    def hp(self) -> int:
        return self.ho // 2 if self.pool else self.ho

    @property
    def wp(self) -> int:
        return self.wo // 2 if self.pool else self.wo

    def groups(self, lanes: int) -> int:
        return -(-self.cout // lanes)

    def descriptor(self) -> int:
        return (
            self.cin
            | self.cout << 10
            | self.h << 20
            | self.w << 26
            | int(self.k == 3) << 32
            | int(self.stride == 2) << 33
            | int(self.pool) << 34
            | int(self.residual) << 35
            | int(self.pixel) << 36
        )

    def __str__(self) -> str:
        flags = "".join(
            f for f, on in (("P", self.pool), ("R", self.residual), ("X", self.pixel)) if on
        )
        return (
            f"{self.cin}->{self.cout} {self.h}x{self.w} k{self.k}s{self.stride}"
            f"{' ' + flags if flags else ''} d={self.density:.2f}"
        )


@dataclass
class Layer:
    shape: LayerShape
    x: np.ndarray  # uint8 [cin, h, w]: spikes 0/1, or pixels in pixel mode
    w: np.ndarray  # int8 [cout, cin, k, k]
    theta: np.ndarray  # int64 [cout]
    res: np.ndarray | None  # uint8 [cout, hp, wp]
    acc: np.ndarray = field(default=None)  # int64 [cout, ho, wo]
    out: np.ndarray = field(default=None)  # uint8 [cout, hp, wp]


def predict(shape: LayerShape, x, w, theta, res) -> tuple[np.ndarray, np.ndarray]:
    """Accumulators and output spikes: conv, fire, then pooling, then the OR residual."""
    pad = 1 if shape.k == 3 else 0
    if shape.pixel:
        acc = gl.first_layer_acc(x, w, shape.stride, pad)
    else:
        acc = gl.conv_acc(x, w, shape.stride, pad)
    out = gl.fire(acc, theta)
    if shape.pool:
        out = gl.maxpool_or(out)
    if shape.residual:
        out = gl.or_residual(out, res)
    return acc, out


def weight_limit(shape: LayerShape, acc_w: int) -> int:
    """Largest |w| for which no accumulator can overflow (the exporter's proof, in reverse)."""
    top = 255 if shape.pixel else 1
    return max(1, min(127, (2 ** (acc_w - 1) - 1) // (shape.cin * shape.k * shape.k * top)))


def make_layer(
    rng: np.random.Generator,
    shape: LayerShape,
    acc_w: int,
    x: np.ndarray | None = None,
    fire_rate: float | None = None,
) -> Layer:
    """A random layer; `x` fixes the input map (e.g. the previous layer's output or a real
    image) and `fire_rate` puts every threshold near that quantile of its channel."""
    s = shape
    if x is None and s.pixel:
        x = rng.integers(0, 256, (s.cin, s.h, s.w), dtype=np.uint8)
        x = np.where(rng.random(x.shape) < s.density, x, 0).astype(np.uint8)
    elif x is None:
        x = (rng.random((s.cin, s.h, s.w)) < s.density).astype(np.uint8)
    x = np.ascontiguousarray(x, dtype=np.uint8)
    if x.shape != (s.cin, s.h, s.w):
        raise ValueError(f"input map {x.shape} does not fit layer {s}")
    lim = weight_limit(s, acc_w)
    w = rng.integers(-lim, lim + 1, (s.cout, s.cin, s.k, s.k)).astype(np.int8)
    pad = 1 if s.k == 3 else 0
    if s.pixel:
        acc = gl.first_layer_acc(x, w, s.stride, pad)
    else:
        acc = gl.conv_acc(x, w, s.stride, pad)
    # Thresholds at a random quantile of each channel's accumulators, so that output densities
    # vary from silent to saturated; now and then far outside the range.
    theta = np.empty(s.cout, dtype=np.int64)
    amax = 2 ** (acc_w - 1) - 1
    for o in range(s.cout):
        r = rng.random()
        if fire_rate is not None:
            q = float(np.clip(1.0 - fire_rate + rng.normal(0.0, 0.05), 0.0, 1.0))
            theta[o] = int(np.quantile(acc[o], q, method="nearest")) + 1
        elif r < 0.05:
            theta[o] = -amax - 1
        elif r < 0.1:
            theta[o] = amax
        else:
            theta[o] = int(np.quantile(acc[o], rng.random(), method="nearest")) + int(
                rng.integers(-1, 2)
            )
    theta = np.clip(theta, -amax - 1, amax)
    res = None
    if s.residual:
        res = (rng.random((s.cout, s.hp, s.wp)) < rng.choice([0.05, 0.3])).astype(np.uint8)
    acc, out = predict(s, x, w, theta, res)
    assert np.abs(acc).max(initial=0) <= amax, "accumulator bound violated"
    return Layer(s, x, w, theta, res, acc, out)


def input_words(layer: Layer) -> list[int]:
    """The layer's input as engine words: pixels one byte per channel, or spike words."""
    s = layer.shape
    if s.pixel:
        return pixel_words(layer.x)
    return map_words(layer.x)


def weight_rows(layer: Layer, lanes: int) -> list[int]:
    """The layer's weights in the engine's row layout (see golden.core_image)."""
    return core_weight_rows(layer.w, lanes)


def threshold_rows(layer: Layer, lanes: int, acc_w: int) -> list[int]:
    return core_threshold_rows(layer.theta, lanes, acc_w)


def events(layer: Layer, x: np.ndarray | None = None) -> int:
    """Address events of the input map, or of `x` (pixel mode: set bits over the 8 planes)."""
    x = layer.x if x is None else x
    if layer.shape.pixel:
        return int(np.unpackbits(x[..., None], axis=-1).sum())
    return int(x.sum())


def estimate_cycles(shape: LayerShape, lanes: int) -> int:
    """Rough engine cycles, used to keep random layers inside a simulation budget."""
    per_pos = shape.density * shape.cin * (8 if shape.pixel else 1)
    scan = shape.h * shape.w * max(1.0, per_pos)
    return int(shape.groups(lanes) * (scan + shape.ho * shape.wo + 16) + shape.hp * shape.wp)


def random_shape(rng: np.random.Generator, p: dict, budget: int) -> LayerShape:
    """A random legal layer for the engine parameters `p` within a cycle budget."""
    lanes, max_cin, max_cout = p["Lanes"], p["MaxCin"], p["MaxCout"]
    for _ in range(200):
        pixel = rng.random() < 0.15 and max_cin >= 8
        cin = int(rng.integers(1, min(3, max_cin // 8) + 1)) if pixel else _pick(rng, max_cin)
        cout = _pick(rng, max_cout)
        h = int(rng.integers(2, p["MaxH"] + 1))
        w = int(rng.integers(2, p["MaxW"] + 1))
        k = int(rng.choice([1, 3], p=[0.3, 0.7]))
        stride = int(rng.choice([1, 2], p=[0.7, 0.3]))
        shape = LayerShape(cin, cout, h, w, k, stride, pixel=pixel)
        shape.pool = bool(rng.random() < 0.35 and shape.ho >= 2 and shape.wo >= 2)
        shape.residual = bool(rng.random() < 0.3)
        shape.density = float(rng.choice(DENSITIES))
        if cin * shape.groups(lanes) > p["WDepth"]:
            continue
        if estimate_cycles(shape, lanes) <= budget:
            return shape
    return LayerShape(1, 1, 2, 2)


def _pick(rng: np.random.Generator, top: int) -> int:
    """Channel counts: small ones often, the maximum and odd sizes sometimes."""
    r = rng.random()
    if r < 0.15:
        return top
    if r < 0.3:
        return 1
    return int(rng.integers(1, top + 1))


def package_layers(pkg, images: np.ndarray) -> list[Layer]:
    """The conv layers of a model package as engine layers, on the golden trace of one image.

    Each conv layer takes its real input map from the trace (pixels for the first layer). A
    maxpool that directly follows a conv is fused into it, and so is an OR residual that
    follows the conv (or its fused pool); the expected output is then the trace of the last
    fused layer. Layers of other kinds (attention, W2TTFS, classifier) are not conv work and
    are left out."""
    from golden.model import run, to_nchw

    x = to_nchw(images)[:1]
    _, trace = run(pkg, x, trace=True)
    vals = {"input": x}
    vals.update({name: rec.get("spikes") for name, rec in trace.layers.items()})
    nodes = pkg.layers
    out: list[Layer] = []
    for i, n in enumerate(nodes):
        if n["kind"] != "conv":
            continue
        pixel = n["src"] == ["input"]
        xin = vals[n["src"][0]][0]
        w = pkg.weight(n["name"])
        cout, cin, k, _ = w.shape
        if n["pad"] != k // 2:
            raise ValueError(f"{n['name']}: pad {n['pad']} is not the engine's {k // 2}")
        shape = LayerShape(cin, cout, xin.shape[1], xin.shape[2], k, n["stride"], pixel=pixel)
        last = n["name"]
        j = i + 1
        if j < len(nodes) and nodes[j]["kind"] == "maxpool" and nodes[j]["src"] == [last]:
            shape.pool = True
            last = nodes[j]["name"]
            j += 1
        res = None
        if j < len(nodes) and nodes[j]["kind"] == "or" and last in nodes[j]["src"]:
            other = next(s for s in nodes[j]["src"] if s != last)
            res = vals[other][0]
            shape.residual = True
            last = nodes[j]["name"]
        expect = vals[last][0]
        theta = pkg.theta(n["name"]).astype(np.int64)
        acc, pred = predict(shape, xin, w, theta, res)
        if not np.array_equal(pred, expect):
            raise AssertionError(f"{n['name']}: fused prediction differs from the golden trace")
        shape.density = float((xin != 0).mean())
        out.append(Layer(shape, xin, w, theta, res, acc, expect))
    return out


def synthetic_package(rng: np.random.Generator, width: int = 8):
    """A small random package in the exporter's format (conv, pool, OR residual, 1x1 stride-2
    conv, W2TTFS, classifier), for exercising `package_layers` until trained ones ship."""
    from golden.package import Package

    c2 = 2 * width
    nodes = [
        dict(name="c1", kind="conv", src=["input"], cin=3, cout=width, k=3, stride=1, pad=1),
        dict(name="p1", kind="maxpool", src=["c1"]),
        dict(name="c2", kind="conv", src=["p1"], cin=width, cout=width, k=3, stride=1, pad=1),
        dict(name="c3", kind="conv", src=["c2"], cin=width, cout=width, k=3, stride=1, pad=1),
        dict(name="o1", kind="or", src=["c3", "p1"]),
        dict(name="c4", kind="conv", src=["o1"], cin=width, cout=c2, k=1, stride=2, pad=0),
        dict(name="c5", kind="conv", src=["c4"], cin=c2, cout=c2, k=3, stride=2, pad=1),
        dict(name="t", kind="w2ttfs", src=["c5"], ws=4),
        dict(name="fc", kind="fc", src=["t"], cin=c2, cout=10),
    ]
    arrays: dict[str, np.ndarray] = {}
    for n in nodes:
        if n["kind"] == "conv":
            shape = (n["cout"], n["cin"], n["k"], n["k"])
            arrays[f"{n['name']}.weight"] = rng.integers(-20, 21, shape).astype(np.int8)
            top = 255 if n["src"] == ["input"] else 1
            spread = 20 * n["cin"] * n["k"] * top // 8
            theta = rng.integers(-spread // 4, spread, n["cout"])
            arrays[f"{n['name']}.theta"] = theta.astype(np.int32)
    arrays["fc.weight"] = rng.integers(-20, 21, (10, c2)).astype(np.int8)
    arrays["fc.bias"] = np.zeros(10, np.int32)
    manifest = {"network": "synthetic", "classes": 10, "acc_bits": 20, "layers": nodes}
    return Package(manifest, arrays, "synthetic.npz")
