"""Command line: ``python -m train --model vgg11 --width 0.25 --kd 1 --stage all|teacher|...``."""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import fields
from pathlib import Path

from .engine import OPTIMIZERS, Config, Dist, train_stage
from .export import DEFAULT_ACC_BITS, ExportError, export_package
from .nets import NETWORKS

log = logging.getLogger("train")


def parse(argv: list[str] | None = None) -> tuple[Config, str]:
    """Parse arguments into a :class:`Config` and the stage."""
    d = Config()
    p = argparse.ArgumentParser(
        prog="python -m train",
        description="Train the ANN teacher, the T=1 SNN student (with or without KD), fine-tune "
        "with fake quantisation and export the integer package.",
    )
    p.add_argument("--model", choices=NETWORKS, default=d.model)
    p.add_argument("--width", type=float, default=d.width, help="channel width multiplier")
    p.add_argument("--dataset", choices=("cifar10", "cifar100"), default=d.dataset)
    p.add_argument("--kd", type=int, choices=(0, 1), default=d.kd, help="distil from the teacher")
    p.add_argument("--stage", choices=("all", "teacher", "student", "qat", "export"), default="all")
    p.add_argument("--epochs", type=int, default=d.epochs, help="teacher and student epochs")
    p.add_argument("--teacher-epochs", type=int, default=None)
    p.add_argument("--student-epochs", type=int, default=None)
    p.add_argument("--qat-epochs", type=int, default=d.qat_epochs)
    p.add_argument("--batch", type=int, default=d.batch, help="global batch size")
    p.add_argument("--lr-teacher", type=float, default=d.lr_teacher)
    p.add_argument("--lr-student", type=float, default=d.lr_student)
    p.add_argument("--lr-qat", type=float, default=d.lr_qat)
    p.add_argument("--wd", type=float, default=d.wd, help="weight decay of conv/fc weights")
    p.add_argument(
        "--wd-student", type=float, default=None, help="the student's weight decay (default --wd)"
    )
    p.add_argument(
        "--student-optimizer",
        choices=OPTIMIZERS,
        default=d.student_optimizer,
        help="optimiser of the SNN student (the teacher and fine-tuning use SGD); AdamW wants "
        "--lr-student near 1e-3 and --wd near 1e-2",
    )
    p.add_argument(
        "--crop-pad",
        type=int,
        default=d.crop_pad,
        help="random crops from the image zero-padded by this many pixels (0: flips only)",
    )
    p.add_argument("--temperature", type=float, default=d.temperature, help="KD temperature T")
    p.add_argument("--kd-alpha", type=float, default=d.kd_alpha, help="KD weight a")
    p.add_argument("--vth", type=float, default=d.vth, help="SNN threshold on the BN output")
    p.add_argument(
        "--surrogate-alpha", type=float, default=d.surrogate_alpha, help="ATan surrogate slope"
    )
    p.add_argument(
        "--warm-start",
        type=int,
        choices=(0, 1),
        default=d.warm_start,
        help="initialise the student with the teacher's weights",
    )
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=d.threads, help="torch threads per process")
    p.add_argument(
        "--data",
        default=None,
        help="folder with the CIFAR-10 npz files or the official python archives "
        "(default ../shared/data from the repository root)",
    )
    p.add_argument("--runs", default=d.runs, help="checkpoints, CSV and plots")
    p.add_argument("--models-dir", default=d.models_dir, help="where packages are exported")
    p.add_argument("--subset", type=int, default=0, help="use the first N training images")
    p.add_argument("--test-subset", type=int, default=0, help="use the first N test images")
    p.add_argument("--max-steps", type=int, default=0, help="cap steps per epoch (smoke tests)")
    p.add_argument(
        "--acc-bits",
        type=int,
        default=DEFAULT_ACC_BITS,
        help="signed accumulator width the exporter proves",
    )
    a = vars(p.parse_args(argv))
    if a["crop_pad"] < 0:
        p.error(f"--crop-pad must be 0 or more, not {a['crop_pad']}")
    stage = a.pop("stage")
    names = {f.name for f in fields(Config)}
    cfg = Config(**{k: v for k, v in a.items() if k in names})
    return cfg, stage


def main(argv: list[str] | None = None) -> int:
    """Run one stage or the whole pipeline."""
    cfg, stage = parse(argv)
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(
        level=logging.INFO if rank == 0 else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    stages = ["teacher", "student", "qat", "export"] if stage == "all" else [stage]
    if stage == "all" and not cfg.kd and not cfg.warm_start:
        stages = ["student", "qat", "export"]
    for s in stages:
        if s == "export":
            if Dist().main:
                ckpt = cfg.run_dir() / f"qat_{cfg.tag()}.pt"
                out = Path(cfg.models_dir) / f"{cfg.package_name()}.npz"
                try:
                    export_package(ckpt, out, cfg.acc_bits)
                except ExportError as e:
                    log.error("%s", e)
                    return 2
        else:
            train_stage(cfg, s)
    return 0
