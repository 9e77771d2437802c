"""Tests of the core-image compiler: program geometry, fusions, slots, row layouts, packets,
refusals, and a program model that must agree with the golden network."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from golden.core_image import (
    ATTN_K,
    ATTN_Q,
    K_IMAGE,
    K_PROGRAM,
    MAGIC,
    CoreConfig,
    CoreImageError,
    compile_package,
    decode_weights,
    image_packet,
    map_words,
    model_packets,
    run_program,
    threshold_rows,
    weight_rows,
    words_to_map,
)
from golden.model import run
from golden.package import Package
from verif.core_model import load_images, synthetic_package

SMALL = CoreConfig(max_c=64)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return load_images(6)[0]


@pytest.fixture(scope="module", params=["vgg11", "resnet11", "qkfresnet11"])
def package(request, images):
    return synthetic_package(request.param, 0.125, 3, images)


def test_program_runs_like_the_golden_network(package, images) -> None:
    img = compile_package(package, SMALL)
    logits, _ = run(package, images)
    for i, x in enumerate(images):
        assert np.array_equal(run_program(img, x), logits[i]), f"image {i}"


def test_ops_chain_their_shapes(package) -> None:
    img = compile_package(package, SMALL)
    assert img.ops[-1].kind == "classify"
    assert img.ops[0].words[1] & 16, "the first op reads pixels"
    for prev, op in zip(img.ops, img.ops[1:-1], strict=False):
        w0 = op.words[0]
        cin, h, w = w0 & 0x3FF, (w0 >> 20) & 63, (w0 >> 26) & 63
        src = (op.words[1] >> 8) & 3
        if src == prev.dst_slot and not op.words[1] & 16:
            assert (cin, h, w) == prev.out_shape or cin == prev.out_shape[0]


def test_resnet_residuals_are_fused(images) -> None:
    pkg = synthetic_package("resnet11", 0.125, 4, images)
    img = compile_package(pkg, SMALL)
    assert sum(bool(op.words[1] & 8) for op in img.ops) == 4, "one OR per basic block"
    assert len(img.ops) < len([n for n in pkg.layers if n["kind"] == "conv"]) + 2


@pytest.fixture(scope="module")
def qkf(images):
    return synthetic_package("qkfresnet11", 0.125, 5, images)


def test_attention_rides_on_the_q_and_k_convs(qkf, images) -> None:
    img = compile_package(qkf, SMALL)
    roles = [(op.words[1] >> 16) & 3 for op in img.ops]
    assert roles.count(ATTN_Q) == roles.count(ATTN_K) == 3
    for i, role in enumerate(roles):
        op = img.ops[i]
        if role == ATTN_Q:
            assert roles[i + 1] == ATTN_K, "K follows its Q"
            assert op.dst_slot is None and not op.words[1] & (1 << 14), "Q is not stored"
        if role == ATTN_K:
            assert op.layer.endswith("_att"), "K writes the attention's output"
    qkca = next(n for n in qkf.layers if n["kind"] == "qkca")
    q_op = next(op for op in img.ops if op.words[1] >> 18 & 1)
    assert q_op.words[3] >> 16 == qkca["theta_ch"]
    # The masks must matter on these images, or the agreement test proves nothing about them.
    _, trace = run(qkf, images, trace=True)
    for n in qkf.layers:
        if n["kind"] in ("qkta", "qkca"):
            k = trace.layers[n["src"][1]]["spikes"]
            assert not np.array_equal(trace.layers[n["name"]]["spikes"], k), n["name"]


def _with_attention(pkg: Package, **changes) -> Package:
    """A copy of `pkg` whose first token attention has the given fields changed."""
    manifest = copy.deepcopy(pkg.manifest)
    att = next(n for n in manifest["layers"] if n["kind"] == "qkta")
    att.update(changes)
    return Package(manifest, pkg.arrays, pkg.path)


def test_attention_refusals(qkf) -> None:
    with pytest.raises(CoreImageError, match=r"qkta1_att: 9 heads"):
        compile_package(_with_attention(qkf, heads=9), SMALL)
    with pytest.raises(CoreImageError, match=r"qkta1_att: threshold 128 does not fit 7 bits"):
        compile_package(_with_attention(qkf, theta_tok=128), SMALL)
    att = next(n for n in qkf.layers if n["kind"] == "qkta")
    with pytest.raises(CoreImageError, match="must come before K"):
        compile_package(_with_attention(qkf, src=att["src"][::-1]), SMALL)
    compile_package(qkf, SMALL)


@pytest.mark.parametrize("external", ["auto", "all"])
def test_external_weights_run_like_the_golden_network(package, images, external) -> None:
    """Layers that do not fit the on-chip store (or all of them) read their rows from the
    external memory image; the program still computes the golden logits."""
    cfg = CoreConfig(max_c=64, w_rows=256)
    img = compile_package(package, cfg, external=external)
    ext_ops = [op for op in img.ops if op.words[1] >> 15 & 1]
    assert ext_ops and len(img.weight_rows) <= cfg.w_rows
    if external == "all":
        assert not img.weight_rows and len(ext_ops) == sum(op.kind == "conv" for op in img.ops)
    for op in ext_ops:
        wbase, wrows = op.words[2] & 0xFFFF, op.words[2] >> 16
        assert (wbase + 1) * 4096 <= len(img.ext_image) or wrows == 0
    assert len(img.ext_image) % 4096 == 0
    logits, _ = run(package, images[:2])
    for i, x in enumerate(images[:2]):
        assert np.array_equal(run_program(img, x), logits[i]), f"image {i}"


def test_row_layouts_round_trip() -> None:
    rng = np.random.default_rng(0)
    for k in (1, 3):
        w = rng.integers(-128, 128, (13, 5, k, k))
        rows = weight_rows(w, 8)
        assert len(rows) == 2 * 5
        assert np.array_equal(decode_weights(rows, 13, 5, k, 8), w)
    rows = threshold_rows(np.array([5, -1, 70000]), 4, 24)
    assert rows == [5 | (0xFFFFFF << 24) | (70000 << 48)]
    spikes = rng.random((7, 3, 4)) < 0.5
    assert np.array_equal(words_to_map(map_words(spikes), 7, 3, 4), spikes)


def test_packets_have_headers_and_lengths(package, images) -> None:
    img = compile_package(package, SMALL)
    packets = model_packets(img)
    assert packets[0][0] == MAGIC << 24 | K_PROGRAM << 16
    for p in packets:
        assert p[0] >> 24 == MAGIC and p[1] == len(p) - 2
    assert len(packets[1]) - 2 == len(img.weight_rows) * 9 * SMALL.lanes * 8 // 32
    pix = image_packet(images[0])
    assert pix[0] >> 16 & 0xFF == K_IMAGE and pix[1] == 32 * 32
    r, g, b = (int(v) for v in images[0][0, 0])
    assert pix[2] == r | g << 8 | b << 16


def test_refuses_what_the_core_cannot_hold(package) -> None:
    with pytest.raises(CoreImageError, match=r"layer .*too big for this core \(MaxC 16"):
        compile_package(package, CoreConfig(max_c=16))
    with pytest.raises(CoreImageError, match="weight rows"):
        compile_package(package, CoreConfig(max_c=64, w_rows=64, ext_mem=0))
    with pytest.raises(CoreImageError, match="no port"):
        compile_package(package, CoreConfig(max_c=64, ext_mem=0), external="all")
    with pytest.raises(CoreImageError, match="external must be"):
        compile_package(package, SMALL, external="sometimes")
    with pytest.raises(CoreImageError, match="bits"):
        compile_package(package, CoreConfig(max_c=64, acc_w=16))
    with pytest.raises(CoreImageError, match="ops"):
        compile_package(package, CoreConfig(max_c=64, prog_ops=3))


def test_image_words_reject_bad_shapes() -> None:
    with pytest.raises(CoreImageError, match="uint8"):
        image_packet(np.zeros((32, 32, 3), np.float32))
    with pytest.raises(CoreImageError, match="3 channels"):
        image_packet(np.zeros((4, 32, 32), np.uint8))


def test_full_width_vgg11_runs_with_external_weights(images) -> None:
    """Full-width VGG-11 (9.2 M weights) does not fit on chip: on a 32-lane, 512-channel core
    the layers beyond the on-chip store read their weights from external memory, and the
    program still computes the golden logits."""
    pkg = synthetic_package("vgg11", 1.0, 7, images)
    cfg = CoreConfig(lanes=32, max_c=512, eng_w_rows=8192, w_rows=2048, th_rows=256)
    with pytest.raises(CoreImageError, match="weight rows"):
        compile_package(pkg, CoreConfig(**{**cfg.__dict__, "ext_mem": 0}))
    img = compile_package(pkg, cfg)
    assert len(img.ext_image) > 8 << 20, "most of the 9.2 M weights live outside"
    assert len(img.weight_rows) <= cfg.w_rows
    logits, _ = run(pkg, images[:1])
    assert np.array_equal(run_program(img, images[0]), logits[0])
