"""Training stages (teacher, student, QAT) with checkpoints, resume, CSV metrics, plots and DDP."""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from .checkpoint import atomic_write, load_checkpoint, save_checkpoint
from .data import Dataset, Split, augment, load_dataset
from .losses import kd_loss
from .modules import Net
from .nets import build_spec, width_tag
from .quant import fold_student

log = logging.getLogger(__name__)

STAGES = ("teacher", "student", "qat", "export")


@dataclass
class Config:
    """Everything a run needs; the CLI fills it in."""

    model: str = "vgg11"
    width: float = 0.25
    dataset: str = "cifar10"
    kd: int = 1
    epochs: int = 30
    teacher_epochs: int | None = None
    student_epochs: int | None = None
    qat_epochs: int = 4
    batch: int = 128
    lr_teacher: float = 0.1
    lr_student: float = 0.05
    lr_qat: float = 0.005
    wd: float = 5e-4
    wd_student: float | None = None
    crop_pad: int = 4
    student_optimizer: str = "sgd"
    temperature: float = 4.0
    kd_alpha: float = 0.9
    vth: float = 1.0
    surrogate_alpha: float = 2.0
    warm_start: int = 1
    seed: int = 0
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    data: str | None = None
    runs: str = "runs"
    models_dir: str = "models"
    subset: int = 0
    test_subset: int = 0
    max_steps: int = 0
    acc_bits: int = 24

    def run_dir(self) -> Path:
        """Folder of this network/width/dataset run (shared by the KD and no-KD paths)."""
        name = f"{self.model}_{width_tag(self.width)}_{self.dataset}"
        if self.subset:
            name += f"_sub{self.subset}"
        return Path(self.runs) / name

    def tag(self) -> str:
        """``kd`` or ``nokd``."""
        return "kd" if self.kd else "nokd"

    def stage_name(self, stage: str) -> str:
        """File stem of a stage: ``teacher``, ``student_kd``, ``qat_nokd`` ..."""
        return stage if stage == "teacher" else f"{stage}_{self.tag()}"

    def stage_epochs(self, stage: str) -> int:
        """Epochs of a training stage."""
        if stage == "teacher":
            return self.teacher_epochs or self.epochs
        if stage == "student":
            return self.student_epochs or self.epochs
        return self.qat_epochs

    def package_name(self) -> str:
        """Stem of the exported package, e.g. ``vgg11_w025_kd`` (``_c100`` for CIFAR-100)."""
        name = f"{self.model}_{width_tag(self.width)}_{self.tag()}"
        return name + ("_c100" if self.dataset == "cifar100" else "")


class Dist:
    """Rank and world size; initialises gloo when started by torchrun."""

    def __init__(self):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("gloo")

    @property
    def main(self) -> bool:
        """True on rank 0."""
        return self.rank == 0

    def sum(self, *vals: float) -> list[float]:
        """All-reduce sums of a few numbers."""
        t = torch.tensor(vals, dtype=torch.float64)
        if self.world > 1:
            dist.all_reduce(t)
        return t.tolist()

    def barrier(self) -> None:
        """Wait for all ranks."""
        if self.world > 1:
            dist.barrier()


def _cl(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last)


def make_model(spec: list[dict], mode: str, cfg: Config) -> Net:
    """A fresh model in ``mode`` with the run's neuron settings."""
    return Net(spec, mode, vth=cfg.vth, alpha=cfg.surrogate_alpha)


def model_from_checkpoint(ckpt: dict) -> Net:
    """Rebuild the model stored in a checkpoint (eval mode)."""
    net = Net(ckpt["spec"], ckpt["mode"], vth=ckpt["vth"], alpha=ckpt["alpha"])
    net.load_state_dict(ckpt["model"])
    return net.eval()


@torch.no_grad()
def evaluate(model: torch.nn.Module, split: Split, dd: Dist, batch: int = 500) -> float:
    """Top-1 accuracy (%) on ``split``; each rank takes a shard. QAT models use integer logits."""
    net = model.module if isinstance(model, DistributedDataParallel) else model
    net.eval()
    idx = torch.arange(dd.rank, len(split.y), dd.world)
    correct = 0
    for i in range(0, len(idx), batch):
        j = idx[i : i + batch]
        x = _cl(split.x[j].float())
        logits = net(x, integer=True) if net.mode == "qat" else net(x)
        correct += int((logits.argmax(1) == split.y[j]).sum())
    c, n = dd.sum(correct, len(idx))
    return 100.0 * c / max(n, 1)


def write_history(path: Path, history: list[dict]) -> None:
    """Write the metric rows as CSV (atomic) and a PNG plot next to it."""
    if not history:
        return
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(history[0]))
    w.writeheader()
    w.writerows(history)
    atomic_write(path.with_suffix(".csv"), lambda f: f.write(buf.getvalue().encode()))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ep = [h["epoch"] for h in history]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
        a1.plot(ep, [h["train_loss"] for h in history], label="train loss")
        a1.set_xlabel("epoch")
        a1.legend()
        a2.plot(ep, [h["train_acc"] for h in history], label="train acc")
        a2.plot(ep, [h["test_acc"] for h in history], label="test acc")
        a2.set_xlabel("epoch")
        a2.set_ylabel("%")
        a2.legend()
        fig.suptitle(path.stem)
        fig.tight_layout()
        fig.savefig(path.with_suffix(".png"), dpi=80)
        plt.close(fig)
    except Exception as e:  # a missing plot must not stop training
        log.warning("plot failed: %s", e)


def _param_groups(model: torch.nn.Module, wd: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if name.endswith("weight") and p.dim() > 1 else no_decay).append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


OPTIMIZERS = ("sgd", "adamw")


def make_optimizer(kind: str, groups: list[dict], lr: float) -> torch.optim.Optimizer:
    """SGD (momentum 0.9, Nesterov) or AdamW (decoupled weight decay) over ``groups``."""
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True)
    if kind == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    raise ValueError(f"unknown optimizer {kind!r}; choose one of {', '.join(OPTIMIZERS)}")


def _subset(ds: Dataset, cfg: Config) -> Dataset:
    tr, te = ds.train, ds.test
    if cfg.subset:
        tr = Split(tr.x[: cfg.subset], tr.y[: cfg.subset])
    if cfg.test_subset:
        te = Split(te.x[: cfg.test_subset], te.y[: cfg.test_subset])
    return Dataset(tr, te, ds.classes)


def train_stage(cfg: Config, stage: str, ds: Dataset | None = None) -> Path:
    """Train one stage (``teacher``, ``student`` or ``qat``); resumes from its checkpoint."""
    torch.set_num_threads(cfg.threads)
    dd = Dist()
    run = cfg.run_dir()
    name = cfg.stage_name(stage)
    ckpt_path = run / f"{name}.pt"
    epochs = cfg.stage_epochs(stage)
    state = load_checkpoint(ckpt_path, name) if ckpt_path.exists() else None
    if state is not None and state.get("done"):
        log.info("%s: already done (%s)", name, ckpt_path)
        return ckpt_path
    ds = _subset(ds or load_dataset(cfg.dataset, cfg.data), cfg)
    spec = build_spec(cfg.model, cfg.width, ds.classes)
    torch.manual_seed(cfg.seed)

    use_teacher = stage != "teacher" and cfg.kd
    teacher = None
    if use_teacher or (stage == "student" and cfg.warm_start):
        t_ckpt = load_checkpoint(run / "teacher.pt", "teacher")
        if not t_ckpt.get("done"):
            raise RuntimeError(f"{run / 'teacher.pt'} is not finished; train the teacher first")
        teacher = _cl_model(model_from_checkpoint(t_ckpt))

    if stage == "teacher":
        model, lr, wd = make_model(spec, "ann", cfg), cfg.lr_teacher, cfg.wd
    elif stage == "student":
        model, lr = make_model(spec, "snn", cfg), cfg.lr_student
        wd = cfg.wd if cfg.wd_student is None else cfg.wd_student
        if state is None and cfg.warm_start:
            model.load_state_dict(teacher.state_dict())
            log.info("student warm-started from the teacher")
    elif stage == "qat":
        s_ckpt = load_checkpoint(run / f"student_{cfg.tag()}.pt", f"student_{cfg.tag()}")
        if not s_ckpt.get("done"):
            raise RuntimeError(f"student_{cfg.tag()} is not finished; train the student first")
        model = fold_student(model_from_checkpoint(s_ckpt), s_ckpt["vth"])
        lr, wd = cfg.lr_qat, 0.0
    else:
        raise ValueError(f"not a training stage: {stage}")
    if not use_teacher:
        teacher = None
    model = _cl_model(model)

    steps = len(ds.train.y) // cfg.batch
    if cfg.max_steps:
        steps = min(steps, cfg.max_steps)
    total = max(1, epochs * steps)
    kind = cfg.student_optimizer if stage == "student" else "sgd"
    if state is not None and stage == "student":
        was = state.get("config", {}).get("student_optimizer", "sgd")
        if was != kind:
            raise RuntimeError(
                f"{ckpt_path} was trained with {was}, not {kind}; resume with the same "
                f"--student-optimizer or move the checkpoint away"
            )
    opt = make_optimizer(kind, _param_groups(model, wd), lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.5 * (1 + math.cos(math.pi * min(k, total) / total))
    )
    history: list[dict] = []
    start = 0
    initial_acc = None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        history, start = list(state["history"]), int(state["epoch"])
        initial_acc = state.get("initial_acc")
        log.info("%s: resuming after epoch %d", name, start)
    else:
        history = []
        if stage == "qat":
            initial_acc = evaluate(model, ds.test, dd)
            log.info("%s: quantised model before fine-tuning: %.2f%%", name, initial_acc)
    ddp = DistributedDataParallel(model) if dd.world > 1 else model

    for epoch in range(start, epochs):
        t0 = time.time()
        loss, acc = _train_epoch(ddp, teacher, ds.train, opt, sched, cfg, dd, epoch, steps, name)
        secs = time.time() - t0
        test_acc = evaluate(ddp, ds.test, dd)
        row = {
            "epoch": epoch + 1,
            "train_loss": round(loss, 5),
            "train_acc": round(acc, 3),
            "test_acc": round(test_acc, 3),
            "lr": round(sched.get_last_lr()[0], 6),
            "seconds": round(secs, 1),
        }
        history.append(row)
        log.info("%s epoch %d/%d: %s", name, epoch + 1, epochs, row)
        if dd.main:
            save_checkpoint(
                ckpt_path,
                {
                    "stage": name,
                    "network": cfg.model,
                    "width": cfg.width,
                    "dataset": cfg.dataset,
                    "classes": ds.classes,
                    "spec": spec,
                    "mode": model.mode,
                    "vth": cfg.vth,
                    "alpha": cfg.surrogate_alpha,
                    "model": model.state_dict(),
                    "opt": opt.state_dict(),
                    "sched": sched.state_dict(),
                    "epoch": epoch + 1,
                    "epochs": epochs,
                    "done": epoch + 1 == epochs,
                    "history": history,
                    "initial_acc": initial_acc,
                    "config": asdict(cfg),
                },
            )
            write_history(run / name, history)
        dd.barrier()
    return ckpt_path


def _cl_model(m: Net) -> Net:
    return m.to(memory_format=torch.channels_last)


def _train_epoch(
    model,
    teacher,
    split: Split,
    opt,
    sched,
    cfg: Config,
    dd: Dist,
    epoch: int,
    steps: int,
    name: str,
) -> tuple[float, float]:
    model.train()
    g = torch.Generator().manual_seed(cfg.seed * 100003 + epoch)
    perm = torch.randperm(len(split.y), generator=g)
    local = cfg.batch // dd.world
    aug = torch.Generator().manual_seed(cfg.seed * 7919 + epoch * 131 + dd.rank)
    tot_loss = tot_correct = tot_n = 0.0
    bar = tqdm(
        range(steps),
        desc=f"{name} {epoch + 1}",
        disable=not dd.main,
        leave=False,
        mininterval=1.0 if sys.stderr.isatty() else 30.0,
        file=sys.stderr,
    )
    for step in bar:
        idx = perm[step * cfg.batch : (step + 1) * cfg.batch][
            dd.rank * local : (dd.rank + 1) * local
        ]
        x = _cl(augment(split.x[idx], aug, cfg.crop_pad))
        y = split.y[idx]
        t_logits = None
        if teacher is not None:
            with torch.no_grad():
                t_logits = teacher(x)
        out = model(x)
        loss = kd_loss(out, y, t_logits, cfg.temperature, cfg.kd_alpha if cfg.kd else 0.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        tot_loss += float(loss.detach()) * len(y)
        tot_correct += int((out.argmax(1) == y).sum())
        tot_n += len(y)
        if dd.main:
            bar.set_postfix(
                loss=f"{tot_loss / tot_n:.3f}",
                acc=f"{100 * tot_correct / tot_n:.1f}",
                refresh=False,
            )
    loss_sum, correct, n = dd.sum(tot_loss, tot_correct, tot_n)
    return loss_sum / max(n, 1), 100.0 * correct / max(n, 1)
