"""BN folding (negative gains negate w and theta) and the integer-exact QAT forward."""

from __future__ import annotations

import numpy as np
import torch

from train.modules import ConvBN, Net, QConv
from train.nets import build_spec
from train.quant import fold_conv_bn, fold_student

from .conftest import calibrated_student, nchw


def test_fold_negative_gain_matches_bn_neuron():
    torch.manual_seed(0)
    node = {"cin": 4, "cout": 6, "k": 3, "stride": 1, "pad": 1}
    unit = ConvBN(node, "snn", vth=1.0, alpha=2.0).double().eval()
    with torch.no_grad():
        unit.bn.weight.copy_(torch.tensor([1.2, -0.7, 0.5, -2.0, 0.0, 0.0]))
        unit.bn.bias.copy_(torch.tensor([0.1, 0.3, -0.2, 0.4, 1.5, 0.2]))
        unit.bn.running_mean.uniform_(-1, 1)
        unit.bn.running_var.uniform_(0.5, 2)
    x = (torch.rand(200, 4, 5, 5, dtype=torch.float64) < 0.4).double()
    with torch.no_grad():
        ref = unit(x)
        v = unit.bn(unit.conv(x)) - 1.0
        w_f, theta, gain = fold_conv_bn(unit.conv.weight, unit.bn, 1.0)
        acc = torch.nn.functional.conv2d(x, w_f, padding=1)
        got = (acc >= (theta / gain)[None, :, None, None]).double()
    assert (w_f[1] == -unit.conv.weight[1]).all() and (w_f[3] == -unit.conv.weight[3]).all()
    assert (w_f[4] == 0).all() and gain[4] == 1 and theta[4] == -1  # always fires
    assert theta[5] == 1  # never fires
    away = v.abs() > 1e-9
    assert away.float().mean() > 0.99
    assert torch.equal(got[away], ref[away])
    assert ref[:, 4].all() and not ref[:, 5].any()


def test_fold_student_first_layer_spikes_survive_int8(test_images):
    student = calibrated_student("vgg11", 0.25, test_images[:32])
    qat = fold_student(student, 1.0).eval()
    x = nchw(test_images[:32])
    with torch.no_grad():
        s1 = student.layers["conv1"](x / 255.0)
        q1 = qat.layers["conv1"](x)
    rate = float(s1.mean())
    assert 0.05 < rate < 0.95
    # int8 weights and integer thresholds flip only neurons very close to threshold
    assert (s1 == q1).float().mean() > 0.97


def test_qconv_eval_forward_is_integer_function():
    torch.manual_seed(1)
    node = {"cin": 3, "cout": 5, "k": 3, "stride": 2, "pad": 1}
    q = QConv(node, max_in=255, alpha=2.0, in_scale=1 / 255)
    with torch.no_grad():
        q.weight.normal_()
        q.theta.normal_()
        q.gain.uniform_(0.2, 3)
    x = torch.randint(0, 256, (4, 3, 9, 9)).float()
    w_int, th, _ = q.int_params()
    assert torch.equal(w_int, w_int.round()) and w_int.abs().max() == 127
    acc = torch.nn.functional.conv2d(x.double(), w_int.double(), stride=2, padding=1)
    want = (acc >= th.double()[None, :, None, None]).float()
    assert torch.equal(q(x), want)


def test_qat_gradients_flow(test_images):
    net = fold_student(calibrated_student("resnet11", 0.125, test_images[:16]), 1.0).train()
    out = net(nchw(test_images[:16]))
    out.sum().backward()
    g = [p.grad for p in net.parameters() if p.grad is not None]
    assert len(g) == len(list(net.parameters()))
    assert any(float(t.abs().sum()) > 0 for t in g)


def test_specs_build_all_networks():
    for name in ("vgg11", "resnet11", "qkfresnet11"):
        for width in (0.25, 1.0):
            spec = build_spec(name, width, 10)
            assert spec[-1]["kind"] == "fc"
            Net(spec, "qat")
    weights = [n for n in build_spec("resnet11", 1.0, 10) if n["kind"] in ("conv", "fc")]
    assert len([n for n in weights if not n["name"].endswith("sc")]) == 11
    vgg = build_spec("vgg11", 1.0, 10)
    assert vgg[-2]["ws"] == 2 and build_spec("resnet11", 1.0, 10)[-2]["ws"] == 4
    assert np.prod([1]) == 1
