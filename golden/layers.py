"""Single-layer functions of the integer model, one per hardware operation (pure numpy, exact).

Layouts: spike maps are uint8 0/1 ``[C, H, W]`` per image or ``[N, C, H, W]`` batched; pixels are
uint8 with the same layout; conv weights are int8 ``[cout, cin, k, k]``; thresholds int
``[cout]``. Accumulators come back as int64. Every function accepts a single image (3-D) or a
batch (4-D) and returns the same rank.

Exactness: integer dot products run as float64 BLAS matrix products only when every partial sum
is provably below 2**53 (then every float64 operation is exact); otherwise int64 matmul is used.
"""

from __future__ import annotations

import numpy as np

_EXACT = 2**53


def _batch(x: np.ndarray) -> tuple[np.ndarray, bool]:
    x = np.asarray(x)
    if x.ndim == 3:
        return x[None], True
    if x.ndim != 4:
        raise ValueError(f"expected [C,H,W] or [N,C,H,W], got shape {x.shape}")
    return x, False


def _unbatch(y: np.ndarray, single: bool) -> np.ndarray:
    return y[0] if single else y


def int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact integer ``a @ b`` as int64 (float64 BLAS when provably exact, else int64)."""
    amax = int(np.abs(a).max(initial=0))
    if _exact_in_float(amax, b):
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a.astype(np.int64) @ b.astype(np.int64)


def _exact_in_float(amax: int, b: np.ndarray) -> bool:
    """True if every partial sum of ``a @ b`` with ``|a| <= amax`` stays below 2**53."""
    bsum = int(np.abs(b.astype(np.int64)).sum(axis=0).max(initial=0))
    return amax * bsum < _EXACT


def conv_acc(x: np.ndarray, w: np.ndarray, stride: int = 1, pad: int | None = None) -> np.ndarray:
    """Accumulators ``sum(w * x)`` of a k x k conv (zero padding ``pad``, default k//2)."""
    xb, single = _batch(x)
    w = np.asarray(w)
    cout, cin, k, k2 = w.shape
    if k != k2 or xb.shape[1] != cin:
        raise ValueError(f"weights {w.shape} do not fit input {xb.shape}")
    pad = k // 2 if pad is None else pad
    exact = _exact_in_float(int(np.abs(xb).max(initial=0)), w.reshape(cout, -1).T)
    dt = np.float64 if exact else np.int64
    xh = xb.transpose(0, 2, 3, 1).astype(dt)  # NHWC: one kernel tap is one matmul
    if pad:
        xh = np.pad(xh, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    n, hp, wp, _ = xh.shape
    ho, wo = (hp - k) // stride + 1, (wp - k) // stride + 1
    wt = w.astype(dt)
    acc = np.zeros((n * ho * wo, cout), dtype=dt)
    for dy in range(k):
        for dx in range(k):
            tap = xh[
                :,
                dy : dy + (ho - 1) * stride + 1 : stride,
                dx : dx + (wo - 1) * stride + 1 : stride,
            ]
            acc += tap.reshape(-1, cin) @ wt[:, :, dy, dx].T
    acc = acc.astype(np.int64)
    return _unbatch(acc.reshape(n, ho, wo, cout).transpose(0, 3, 1, 2), single)


def fire(acc: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Spikes ``acc >= theta[c]`` (channel axis -3) as uint8."""
    th = np.asarray(theta, dtype=np.int64)[:, None, None]
    return (np.asarray(acc) >= th).astype(np.uint8)


def conv_spikes(x, w, theta, stride: int = 1, pad: int | None = None):
    """One spiking conv layer: returns ``(acc, spikes)``."""
    acc = conv_acc(x, w, stride, pad)
    return acc, fire(acc, theta)


def bitplanes(pixels: np.ndarray) -> np.ndarray:
    """The 8 bit-planes of uint8 pixels: ``planes[b] = (pixels >> b) & 1``, LSB first."""
    p = np.asarray(pixels)
    if p.dtype != np.uint8:
        raise ValueError("pixels must be uint8")
    return np.stack([(p >> b) & 1 for b in range(8)]).astype(np.uint8)


def first_layer_acc(
    pixels: np.ndarray, w: np.ndarray, stride: int = 1, pad: int | None = None
) -> np.ndarray:
    """First-layer accumulators from bit-planes: plane b contributes ``conv(plane_b, w << b)``.

    Equals ``conv_acc(pixels, w)`` exactly. The 8 planes are stacked as 8*cin binary input
    channels (plane-major) with weights ``w << b``, so one conv adds all planes.
    """
    pb, single = _batch(pixels)
    w64 = np.asarray(w).astype(np.int64)
    planes = bitplanes(pb)  # [8, N, C, H, W]
    stacked = planes.transpose(1, 0, 2, 3, 4).reshape(pb.shape[0], -1, *pb.shape[2:])
    wstack = np.concatenate([w64 << b for b in range(8)], axis=1)
    return _unbatch(conv_acc(stacked, wstack, stride, pad), single)


def maxpool_or(s: np.ndarray) -> np.ndarray:
    """2x2 stride-2 max pooling of spikes, i.e. OR of each 2x2 window (odd edges dropped)."""
    sb, single = _batch(s)
    n, c, h, w = sb.shape
    v = sb[:, :, : h // 2 * 2, : w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2)
    return _unbatch(v.max(axis=(3, 5)).astype(np.uint8), single)


def or_residual(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SEW residual: OR of block output spikes and shortcut spikes."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"residual shapes differ: {np.shape(a)} vs {np.shape(b)}")
    return (np.asarray(a) | np.asarray(b)).astype(np.uint8)


def w2ttfs_counts(s: np.ndarray, ws: int) -> np.ndarray:
    """Spike counts ``n`` in [0, ws*ws] per channel over ws x ws windows (int64)."""
    sb, single = _batch(s)
    n, c, h, w = sb.shape
    v = sb[:, :, : h // ws * ws, : w // ws * ws].reshape(n, c, h // ws, ws, w // ws, ws)
    return _unbatch(v.astype(np.int64).sum(axis=(3, 5)), single)


def w2ttfs_times(counts: np.ndarray, ws: int) -> np.ndarray:
    """Spike time slot of each window: ``t = ws*ws - n``, or -1 (no spike) when ``n == 0``."""
    c = np.asarray(counts, dtype=np.int64)
    return np.where(c > 0, ws * ws - c, -1)


def ttfs_integrate(
    times: np.ndarray, w: np.ndarray, ws: int, bias: np.ndarray | None = None
) -> np.ndarray:
    """Layer fed by W2TTFS, slot by slot: each input adds its weight in every slot from its spike
    time to the end of the window (ws*ws slots), so the result is ``sum(w * n) (+ bias)``.

    ``times``: [N, I] (flattened channel, row, column) or [I]; ``w``: int8 [O, I].
    """
    t = np.asarray(times, dtype=np.int64)
    single = t.ndim == 1
    t = t[None] if single else t
    w64 = np.asarray(w).astype(np.int64)
    acc = np.zeros((t.shape[0], w64.shape[0]), dtype=np.int64)
    if bias is not None:
        acc += np.asarray(bias, dtype=np.int64)
    for slot in range(ws * ws):
        active = ((t >= 0) & (t <= slot)).astype(np.int64)
        acc += int_matmul(active, w64.T)
    return acc[0] if single else acc


def fc_logits(counts: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """Classifier accumulators ``sum(w * n) + bias`` from flattened W2TTFS counts [N, I]."""
    c = np.asarray(counts, dtype=np.int64)
    single = c.ndim == 1
    c = c[None] if single else c
    acc = int_matmul(c, np.asarray(w).T)
    if bias is not None:
        acc = acc + np.asarray(bias, dtype=np.int64)
    return acc[0] if single else acc


def classify(logits: np.ndarray) -> np.ndarray:
    """Class index: argmax over the last axis, lowest index on ties."""
    return np.argmax(np.asarray(logits), axis=-1)


def qkta_mask(q: np.ndarray, heads: int, theta_tok: int = 1) -> np.ndarray:
    """Token mask ``[heads, H, W]``: sum of the head's Q channels at each position >= theta_tok."""
    qb, single = _batch(q)
    n, c, h, w = qb.shape
    if c % heads:
        raise ValueError(f"{c} channels do not split into {heads} heads")
    s = qb.reshape(n, heads, c // heads, h, w).astype(np.int64).sum(axis=2)
    return _unbatch((s >= theta_tok).astype(np.uint8), single)


def qkta(q: np.ndarray, k: np.ndarray, heads: int, theta_tok: int = 1):
    """Token attention: ``A[c,n] = mask[head(c), n] AND K[c,n]``; returns ``(A, mask)``."""
    mask = qkta_mask(q, heads, theta_tok)
    kb, single = _batch(k)
    mb = mask[None] if single else mask
    n, c, h, w = kb.shape
    a = (kb.reshape(n, heads, c // heads, h, w) & mb[:, :, None]).reshape(n, c, h, w)
    return _unbatch(a.astype(np.uint8), single), mask


def qkca_mask(q: np.ndarray, theta_ch: int) -> np.ndarray:
    """Channel mask ``[C]``: number of Q spikes over the whole map >= theta_ch."""
    qb, single = _batch(q)
    s = qb.astype(np.int64).sum(axis=(2, 3))
    return _unbatch((s >= theta_ch).astype(np.uint8), single)


def qkca(q: np.ndarray, k: np.ndarray, theta_ch: int):
    """Channel attention: ``A[c,n] = mask[c] AND K[c,n]``; returns ``(A, mask)``."""
    mask = qkca_mask(q, theta_ch)
    kb, single = _batch(k)
    mb = mask[None] if single else mask
    a = kb & mb[:, :, None, None]
    return _unbatch(a.astype(np.uint8), single), mask
