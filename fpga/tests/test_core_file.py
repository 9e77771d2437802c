"""neural.core against the tree: every RTL file listed, the Vivado project FuseSoC generates
for the VC707 (checked without Vivado), the resource script's file list, the protocol."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from fpga import synth

ROOT = Path(__file__).resolve().parent.parent.parent
CORE = yaml.safe_load((ROOT / "neural.core").read_text())
FILESETS = CORE["filesets"]


def files(fileset: str) -> list[str]:
    return [f if isinstance(f, str) else next(iter(f)) for f in FILESETS[fileset]["files"]]


def test_every_rtl_file_is_listed():
    on_disk = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "rtl").glob("*.sv"))
    assert sorted(files("rtl")) == on_disk, "neural.core fileset rtl differs from rtl/*.sv"
    on_disk = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "fpga/rtl").glob("*.sv"))
    assert sorted(files("board_rtl")) == on_disk


def test_synth_script_uses_the_core_file_lists():
    assert synth.CORE == files("rtl")
    assert synth.BOARD == files("board_rtl")


def test_targets_and_parameters_are_described():
    assert {"default", "lint", "sim", "synth", "vc707"} <= set(CORE["targets"])
    assert re.fullmatch(r"::neural:\d+\.\d+\.\d+", CORE["name"])
    for name, param in CORE["parameters"].items():
        assert param.get("description"), f"parameter {name} has no description"


@pytest.fixture(scope="module")
def vivado_project(tmp_path_factory) -> str:
    if shutil.which("fusesoc") is None:
        pytest.skip("fusesoc is not installed")
    build = tmp_path_factory.mktemp("fusesoc")
    subprocess.run(
        ["fusesoc", "--cores-root", str(ROOT), "run", "--setup", "--build-root", str(build),
         "--target", "vc707", "neural"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    tcl = list(build.rglob("neural_*.tcl"))
    project = [t for t in tcl if re.fullmatch(r"neural_[\d.]+\.tcl", t.name)]
    assert len(project) == 1, f"expected one project Tcl, found {[t.name for t in tcl]}"
    return project[0].read_text()


def test_vc707_project_part_top_generics(vivado_project):
    assert "set_property part xc7vx485tffg1761-2 [current_project]" in vivado_project
    assert "set_property top vc707_top [current_fileset]" in vivado_project
    generics = re.search(r"set_property generic \{([^}]*)\}", vivado_project)
    assert generics, "no generics in the project"
    assert set(generics.group(1).split()) >= {"ClkHz=200000000", "Baud=115200"}


def test_vc707_project_files_and_constraints(vivado_project):
    read = re.findall(r"read_verilog -sv \{src/neural_[\d.]+/(\S+)\}", vivado_project)
    assert read == files("rtl") + files("board_rtl")
    assert re.search(r"read_xdc \{src/neural_[\d.]+/fpga/vc707\.xdc\}", vivado_project)


def test_xdc_pins_and_clock():
    xdc = (ROOT / "fpga/vc707.xdc").read_text()
    pin_re = r"PACKAGE_PIN (\w+) IOSTANDARD \w+\} \[get_ports (?:\{([^}]+)\}|(\w+))\]"
    found = re.findall(pin_re, xdc)
    ports = {braced or plain: pin for pin, braced, plain in found}
    assert ports["sys_clk_p_i"] == "E19" and ports["sys_clk_n_i"] == "E18"
    assert ports["cpu_reset_i"] == "AV40"
    assert ports["uart_rx_i"] == "AU33" and ports["uart_tx_o"] == "AU36"
    leds = ["AM39", "AN39", "AR37", "AT37", "AR35", "AP41", "AP42", "AU39"]
    assert [ports[f"led_o[{i}]"] for i in range(8)] == leds
    assert "create_clock -name sys_clk -period 5.000 [get_ports sys_clk_p_i]" in xdc
    top = (ROOT / "fpga/rtl/vc707_top.sv").read_text()
    for port in ports:
        assert re.search(rf"\b{re.escape(port.split('[')[0])}\b", top), f"{port} not in the top"


def _int_params(path: Path) -> dict[str, str]:
    text = (ROOT / path).read_text()
    return dict(re.findall(r"^\s*parameter int (\w+)\s*=\s*([^,\s]+)", text, re.MULTILINE))


# Core parameters the board top fixes rather than passes on: it has no external memory yet.
BOARD_FIXED = {"ExtMem": "0", "ExtDataW": None}


def test_board_top_core_defaults_follow_neural_top():
    """vc707_top passes every core parameter explicitly; its defaults must be the core's."""
    core, board = _int_params(Path("rtl/neural_top.sv")), _int_params(Path("fpga/rtl/vc707_top.sv"))
    top = (ROOT / "fpga/rtl/vc707_top.sv").read_text()
    for name, value in BOARD_FIXED.items():
        core.pop(name)
        if value is not None:
            assert re.search(rf"\.{name}\s*\({value}\)", top), f"vc707_top must fix {name}={value}"
    assert set(core) <= set(board), f"vc707_top lacks {sorted(set(core) - set(board))}"
    drift = {k: (board[k], v) for k, v in core.items() if board[k] != v}
    assert not drift, f"vc707_top defaults (board, core) differ: {drift}"
