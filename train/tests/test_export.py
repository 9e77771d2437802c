"""Exporter: exact agreement with the golden model, overflow refusal, malformed inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import golden
from golden.package import PackageError
from train.checkpoint import save_checkpoint
from train.export import ExportError, export_package

from .conftest import calibrated_student, nchw, qat_from_student


def save_qat(path, qat, network="vgg11", width=0.25, stage="qat_kd"):
    save_checkpoint(
        path,
        {
            "stage": stage,
            "network": network,
            "width": width,
            "dataset": "cifar10",
            "classes": 10,
            "spec": qat.spec,
            "mode": "qat",
            "vth": 1.0,
            "alpha": 2.0,
            "model": qat.state_dict(),
            "done": True,
            "history": [],
        },
    )


@pytest.mark.parametrize("network", ["vgg11", "resnet11", "qkfresnet11"])
def test_qat_eval_equals_golden(tmp_path, test_images, network):
    qat = qat_from_student(calibrated_student(network, 0.25, test_images))
    save_qat(tmp_path / "q.pt", qat, network)
    export_package(tmp_path / "q.pt", tmp_path / "pkg.npz")
    pkg = golden.load_package(tmp_path / "pkg.npz")
    with torch.no_grad():
        t_logits = qat(nchw(test_images), integer=True).numpy().astype(np.int64)
    g_logits, g_pred = golden.predict(pkg, test_images, batch=16)
    assert np.array_equal(t_logits, g_logits)
    assert np.array_equal(t_logits.argmax(1), g_pred)
    # the network is not trivial: logits vary across images
    assert len({tuple(r) for r in g_logits}) > 32
    _, tr = golden.run(pkg, test_images[:4], trace=True)
    first = pkg.layers[0]["name"]
    assert tr.layers[first]["spikes"].shape == (4, *pkg.layers[0]["out_shape"])
    assert 0 < tr.layers[first]["spikes"].mean() < 1


def test_exporter_refuses_overflow(tmp_path, test_images):
    qat = qat_from_student(calibrated_student("vgg11", 0.25, test_images))
    save_qat(tmp_path / "q.pt", qat)
    with pytest.raises(ExportError, match=r"layer 'conv1'.*needs 2[0-9] signed bits"):
        export_package(tmp_path / "q.pt", tmp_path / "pkg.npz", acc_bits=16)
    assert not (tmp_path / "pkg.npz").exists()
    with pytest.raises(ExportError, match=r"layer 'conv[2-8]'"):
        with torch.no_grad():
            qat.layers["conv1"].weight.mul_(1e-3)  # tiny first layer: conv1 fits now
            qat.layers["conv1"].weight[:, 0, 0, 0] = 1.0
        save_qat(tmp_path / "q2.pt", qat)
        export_package(tmp_path / "q2.pt", tmp_path / "pkg.npz", acc_bits=17)


def test_exporter_rejects_malformed_checkpoints(tmp_path, test_images):
    bad = tmp_path / "garbage.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ExportError, match="not a readable torch checkpoint"):
        export_package(bad, tmp_path / "o.npz")
    with pytest.raises(ExportError, match="no such checkpoint"):
        export_package(tmp_path / "missing.pt", tmp_path / "o.npz")
    torch.save({"hello": 1}, tmp_path / "foreign.pt")
    with pytest.raises(ExportError, match="not a neural-train-checkpoint"):
        export_package(tmp_path / "foreign.pt", tmp_path / "o.npz")
    student = calibrated_student("vgg11", 0.25, test_images[:8])
    save_checkpoint(
        tmp_path / "s.pt",
        {
            "stage": "student_kd",
            "network": "vgg11",
            "width": 0.25,
            "classes": 10,
            "spec": student.spec,
            "mode": "snn",
            "vth": 1.0,
            "alpha": 2.0,
            "model": student.state_dict(),
        },
    )
    with pytest.raises(ExportError, match="not a QAT checkpoint"):
        export_package(tmp_path / "s.pt", tmp_path / "o.npz")
    qat = qat_from_student(student)
    sd = qat.state_dict()
    sd.pop("layers.conv3.weight")
    save_checkpoint(
        tmp_path / "t.pt",
        {
            "stage": "qat_kd",
            "network": "vgg11",
            "width": 0.25,
            "classes": 10,
            "spec": qat.spec,
            "mode": "qat",
            "vth": 1.0,
            "alpha": 2.0,
            "model": sd,
        },
    )
    with pytest.raises(ExportError, match="weights do not fit"):
        export_package(tmp_path / "t.pt", tmp_path / "o.npz")
    assert not (tmp_path / "o.npz").exists()


def _rewrite(src, dst, fn):
    with np.load(src) as z:
        d = {k: z[k] for k in z.files}
    fn(d)
    np.savez(dst, **d)


def test_loader_rejects_malformed_packages(tmp_path, test_images):
    qat = qat_from_student(calibrated_student("vgg11", 0.25, test_images[:8]))
    save_qat(tmp_path / "q.pt", qat)
    good = tmp_path / "good.npz"
    export_package(tmp_path / "q.pt", good)
    golden.load_package(good)
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(PackageError, match="not a readable npz"):
        golden.load_package(tmp_path / "junk.npz")
    with pytest.raises(PackageError, match="no such package"):
        golden.load_package(tmp_path / "nope.npz")

    def drop_manifest(d):
        d.pop("manifest")

    def wrong_dtype(d):
        d["conv2.weight"] = d["conv2.weight"].astype(np.int16)

    def bad_version(d):
        m = json.loads(str(d["manifest"]))
        m["version"] = 99
        d["manifest"] = np.array(json.dumps(m))

    def small_acc(d):
        m = json.loads(str(d["manifest"]))
        m["acc_bits"] = 12
        d["manifest"] = np.array(json.dumps(m))

    def bad_src(d):
        m = json.loads(str(d["manifest"]))
        m["layers"][1]["src"] = ["fc"]
        d["manifest"] = np.array(json.dumps(m))

    cases = [
        (drop_manifest, "no 'manifest'"),
        (wrong_dtype, "conv2.weight.*int16"),
        (bad_version, "version 99"),
        (small_acc, "layer 'conv1'.*acc_bits=12"),
        (bad_src, "before it is computed"),
    ]
    for i, (fn, msg) in enumerate(cases):
        p = tmp_path / f"bad{i}.npz"
        _rewrite(good, p, fn)
        with pytest.raises(PackageError, match=msg):
            golden.load_package(p)
