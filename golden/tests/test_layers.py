"""Single-layer golden functions against naive loop references and the contract's identities."""

from __future__ import annotations

import numpy as np
import pytest

from golden import layers as gl

rng = np.random.default_rng(1234)


def naive_conv(x, w, stride, pad):
    """Direct 6-loop convolution on int64 (reference for conv_acc)."""
    cin, h, wd = x.shape
    cout, _, k, _ = w.shape
    xp = np.zeros((cin, h + 2 * pad, wd + 2 * pad), np.int64)
    xp[:, pad : pad + h, pad : pad + wd] = x
    ho, wo = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    out = np.zeros((cout, ho, wo), np.int64)
    for o in range(cout):
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, i * stride : i * stride + k, j * stride : j * stride + k]
                out[o, i, j] = int((patch * w[o].astype(np.int64)).sum())
    return out


def spikes(*shape, p=0.3):
    return (rng.random(shape) < p).astype(np.uint8)


def weights(cout, cin, k):
    return rng.integers(-127, 128, size=(cout, cin, k, k)).astype(np.int8)


@pytest.mark.parametrize("k,stride", [(3, 1), (3, 2), (1, 1), (1, 2)])
def test_conv_matches_naive(k, stride):
    x, w = spikes(5, 9, 7), weights(4, 5, k)
    acc = gl.conv_acc(x, w, stride)
    assert np.array_equal(acc, naive_conv(x, w, stride, k // 2))
    theta = rng.integers(-50, 50, size=4)
    acc2, s = gl.conv_spikes(x, w, theta, stride)
    assert s.dtype == np.uint8
    assert np.array_equal(s, (acc2 >= theta[:, None, None]).astype(np.uint8))


def test_conv_stride2_shapes_and_batch():
    x, w = spikes(3, 6, 8, 8), weights(2, 6, 3)
    acc = gl.conv_acc(x, w, 2)
    assert acc.shape == (3, 2, 4, 4)
    for n in range(3):
        assert np.array_equal(acc[n], naive_conv(x[n], w, 2, 1))
    acc1 = gl.conv_acc(x, weights(2, 6, 1), 2, 0)
    assert acc1.shape == (3, 2, 4, 4)


def test_first_layer_bitplanes_equal_dense_sum():
    px = rng.integers(0, 256, size=(2, 3, 8, 8)).astype(np.uint8)
    px[0, :, 0, 0] = 255
    w = weights(6, 3, 3)
    dense = gl.conv_acc(px, w)
    assert np.array_equal(gl.first_layer_acc(px, w), dense)
    assert np.array_equal(dense[1], naive_conv(px[1], w, 1, 1))
    planes = gl.bitplanes(px)
    assert np.array_equal(
        (planes.astype(np.int64) << np.arange(8)[:, None, None, None, None]).sum(0), px
    )


def test_maxpool_is_or():
    s = spikes(2, 3, 6, 6)
    p = gl.maxpool_or(s)
    ref = s[:, :, 0::2, 0::2] | s[:, :, 1::2, 0::2] | s[:, :, 0::2, 1::2] | s[:, :, 1::2, 1::2]
    assert np.array_equal(p, ref)


def test_or_residual():
    a, b = spikes(4, 5, 5), spikes(4, 5, 5)
    r = gl.or_residual(a, b)
    assert np.array_equal(r, np.maximum(a, b))
    with pytest.raises(ValueError):
        gl.or_residual(a, b[:, :4])


@pytest.mark.parametrize("ws", [2, 4])
def test_w2ttfs_equals_scaled_avgpool_then_layer(ws):
    s = spikes(5, 8, ws, ws, p=0.5)
    s[0] = 0
    s[1] = 1
    counts = gl.w2ttfs_counts(s, ws)
    avg = s.reshape(5, 8, -1).mean(axis=2)
    assert np.array_equal(counts.reshape(5, 8), np.rint(avg * ws * ws).astype(np.int64))
    times = gl.w2ttfs_times(counts, ws)
    assert (times[0] == -1).all() and (times[1] == 0).all()
    w = rng.integers(-127, 128, size=(10, 8)).astype(np.int8)
    b = rng.integers(-1000, 1000, size=10)
    via_time = gl.ttfs_integrate(times.reshape(5, -1), w, ws, b)
    via_counts = gl.fc_logits(counts.reshape(5, -1), w, b)
    assert np.array_equal(via_time, via_counts)
    float_ref = ws * ws * (avg @ w.astype(np.float64).T) + b
    assert np.array_equal(via_counts, np.rint(float_ref).astype(np.int64))


def test_w2ttfs_local_windows_flatten_order():
    s = spikes(2, 3, 4, 4, p=0.5)
    c = gl.w2ttfs_counts(s, 2)
    assert c.shape == (2, 3, 2, 2)
    assert c[1, 2, 1, 0] == s[1, 2, 2:4, 0:2].sum()


def test_classify_lowest_index_on_ties():
    logits = np.array([[3, 7, 7, 1], [-5, -5, -6, -5]])
    assert gl.classify(logits).tolist() == [1, 0]


def test_qkta_mask_per_head():
    heads, c = 2, 4
    q = np.zeros((c, 2, 2), np.uint8)
    q[1, 0, 0] = 1  # head 0
    q[2, 1, 1] = 1  # head 1
    q[3, 1, 1] = 1  # head 1, two spikes
    k = np.ones((c, 2, 2), np.uint8)
    a, mask = gl.qkta(q, k, heads, theta_tok=1)
    assert mask.shape == (heads, 2, 2)
    assert mask[0].tolist() == [[1, 0], [0, 0]]
    assert mask[1].tolist() == [[0, 0], [0, 1]]
    assert a[0:2, 0, 0].tolist() == [1, 1] and a[0:2].sum() == 2
    assert a[2:4, 1, 1].tolist() == [1, 1] and a[2:4].sum() == 2
    _, mask2 = gl.qkta(q, k, heads, theta_tok=2)
    assert mask2.sum() == 1 and mask2[1, 1, 1] == 1


def test_qkta_and_with_k_batched():
    q, k = spikes(3, 8, 4, 4), spikes(3, 8, 4, 4)
    a, mask = gl.qkta(q, k, 4, 1)
    ref_mask = q.reshape(3, 4, 2, 4, 4).max(axis=2)
    assert np.array_equal(mask, ref_mask)
    assert np.array_equal(a, k & np.repeat(ref_mask, 2, axis=1))


def test_qkca_channel_mask():
    q, k = spikes(2, 6, 4, 4), spikes(2, 6, 4, 4)
    theta = 5
    a, mask = gl.qkca(q, k, theta)
    ref = (q.reshape(2, 6, -1).sum(-1) >= theta).astype(np.uint8)
    assert np.array_equal(mask, ref)
    assert np.array_equal(a, k * ref[:, :, None, None])


def test_int_matmul_exact_beyond_float64():
    a = np.array([[2**40, 3]], dtype=np.int64)
    b = np.array([[2**20 + 1], [1]], dtype=np.int64)
    assert gl.int_matmul(a, b)[0, 0] == 2**60 + 2**40 + 3


def test_bad_shapes_raise():
    with pytest.raises(ValueError):
        gl.conv_acc(spikes(4, 5, 5), weights(2, 3, 3))
    with pytest.raises(ValueError):
        gl.qkta_mask(spikes(6, 2, 2), heads=4)
    with pytest.raises(ValueError):
        gl.bitplanes(np.zeros((3, 2, 2), np.int16))
