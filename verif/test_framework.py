"""Unit tests of the simulation-independent parts of the framework: specs and regression report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from verif import registry, regress
from verif.registry import TESTS, SpecError, load_spec


def write_spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "test_dummy.yaml"
    path.write_text(text)
    return path


def test_shipped_specs_load() -> None:
    assert {"test_elastic_fifo", "test_event_filter"} <= set(TESTS)
    for test in TESTS.values():
        assert test.configs and all(p.is_file() for p in test.source_paths())


def test_spec_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="missing keys"):
        load_spec(write_spec(tmp_path, "toplevel: x\n"))
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(write_spec(tmp_path, "toplevel: [x\n"))
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(write_spec(tmp_path, "toplevel: x\nsources: [nope.sv]\nconfigs: {a: {}}\n"))


def fake_run(
    tmp_path: Path, test: str, ok: bool, cov: dict, dat: str = "", seed: int = 7
) -> regress.Run:
    """Lay out one run's files as regress_cases does, then load them as the report does."""
    rdir = tmp_path / "runs" / test / "verilator" / "c" / str(seed)
    rdir.mkdir(parents=True)
    outcome = {"ran": 2, "failed": 0 if ok else 1, "wall_s": 1.0}
    (rdir / "outcome.json").write_text(json.dumps(outcome))
    failure = "" if ok else "<failure message='x'/>"
    (rdir / "results.xml").write_text(
        f"<testsuites><testsuite><testcase name='A'/><testcase name='B'>{failure}</testcase>"
        "</testsuite></testsuites>"
    )
    (rdir / "stats_A.json").write_text(json.dumps({"cycles": 1000, "wall_s": 0.5, "seed": 1}))
    (rdir / "coverage_x.yml").write_text(yaml.safe_dump(cov))
    if dat:
        (rdir / "coverage.dat").write_text(dat)
    return regress.load_run(tmp_path, test, "c", "verilator", seed)


def test_functional_coverage_merges_bins_over_runs(tmp_path: Path) -> None:
    a = fake_run(tmp_path, "t", True, {"p.q": {"bins:_hits": {0: 1, 1: 0}}})
    b = fake_run(tmp_path, "t", False, {"p.q": {"bins:_hits": {0: 0, 1: 2, 2: 0}}}, seed=8)
    assert a.passed and not b.passed and b.cases == {"A": True, "B": False}
    assert a.cycles == 1000
    merged = regress.merge_functional([a, b])
    assert merged["t"]["p.q"] == {"0": 1, "1": 2, "2": 0}


def test_verilator_coverage_is_summarised_per_module(tmp_path: Path) -> None:
    def point(page: str, line: int) -> str:
        return f"\x01page\x02{page}\x01l\x02{line}"

    dat = "# SystemC::Coverage-3\n"
    dat += f"C '{point('v_line/fifo', 1)}' 3\nC '{point('v_line/fifo', 2)}' 0\n"
    dat += f"C '{point('v_toggle/filt', 5)}' 1\n"
    dat += f"C '{point('v_line/fifo__W8', 1)}' 0\n"
    run = fake_run(tmp_path, "t", True, {}, dat)
    summary = regress.merge_code_coverage([run])
    assert summary["fifo"]["line"] == [1, 3], "parameterised copies count under one module"
    assert summary["filt"]["toggle"] == [1, 1]


def test_report_names_failing_run_and_rerun_command(tmp_path: Path) -> None:
    bad = fake_run(tmp_path, "test_elastic_fifo", False, {"elastic_fifo.op": {"bins:_hits": {}}})
    lines, n_pass, n_fail = regress.report([bad], tmp_path)
    text = "\n".join(lines)
    assert (n_pass, n_fail) == (0, 1)
    assert "make sim TEST=test_elastic_fifo SIM=verilator CONFIG=c SEED=7" in text
    assert "| elastic FIFO" in text


def test_plan_names_existing_tests_and_configs() -> None:
    """Every test the verification plan names exists: module, cocotb class and config."""
    plan = yaml.safe_load(regress.PLAN.read_text())
    for feature in plan:
        for tp in feature["testpoints"]:
            for name in tp.get("tests", []):
                base, _, config = name.partition("[")
                module, _, cls = base.partition(".")
                assert module in TESTS, f"{tp['name']}: no test {module}"
                if cls:
                    source = (Path(__file__).parent / "tests" / f"{module}.py").read_text()
                    assert f"class {cls}(" in source, f"{tp['name']}: no class {cls}"
                if config:
                    assert config.rstrip("]") in TESTS[module].configs, f"{name}: no such config"


def test_config_limits_per_simulator(tmp_path: Path, monkeypatch) -> None:
    """`sims`, `max_seeds` and `sim_extra` shape the regression matrix and the extras."""
    monkeypatch.setattr(registry, "TESTS_DIR", tmp_path)
    (tmp_path / "test_dummy.py").write_text("")
    spec = load_spec(
        write_spec(
            tmp_path,
            "toplevel: elastic_fifo\nsources: [elastic_fifo.sv]\nconfigs:\n"
            "  a: {params: {}, extra: {images: 4}, sims: [verilator]}\n"
            "  b: {params: {}, extra: {images: 4}, max_seeds: 1,"
            " sim_extra: {icarus: {images: 1}}}\n",
        )
    )
    assert spec.in_regression("a", "verilator") and not spec.in_regression("a", "icarus")
    assert spec.extra_for("b", "icarus") == {"images": 1}
    assert spec.extra_for("b", "verilator") == {"images": 4} == spec.extra_for("b")
    assert spec.seeds_for("b", "icarus", 5) == spec.seeds_for("b", "verilator", 5) == 1
    assert spec.seeds_for("a", "verilator", 5) == 5
    with pytest.raises(SpecError, match="unknown simulators"):
        load_spec(write_spec(tmp_path, "toplevel: x\nsources: []\nconfigs:\n"
                             "  a: {params: {}, sims: [questa]}\n"))  # fmt: skip
    with pytest.raises(SpecError, match="max_seeds"):
        load_spec(write_spec(tmp_path, "toplevel: x\nsources: []\nconfigs:\n"
                             "  a: {params: {}, max_seeds: 0}\n"))  # fmt: skip


def test_cases_per_simulator(tmp_path: Path, monkeypatch) -> None:
    """`cases` limits the cocotb classes a config runs on one simulator; malformed ones fail."""
    monkeypatch.setattr(registry, "TESTS_DIR", tmp_path)
    (tmp_path / "test_dummy.py").write_text("")
    spec = load_spec(
        write_spec(
            tmp_path,
            "toplevel: elastic_fifo\nsources: [elastic_fifo.sv]\nconfigs:\n"
            "  a: {params: {}, cases: {icarus: [ImagesTest]}}\n",
        )
    )
    assert spec.cases_for("a", "icarus") == ("ImagesTest",)
    assert spec.cases_for("a", "verilator") is None
    with pytest.raises(SpecError, match="cases must map"):
        load_spec(write_spec(tmp_path, "toplevel: x\nsources: []\nconfigs:\n"
                             "  a: {params: {}, cases: {icarus: ImagesTest}}\n"))  # fmt: skip
    with pytest.raises(SpecError, match="unknown simulators"):
        load_spec(write_spec(tmp_path, "toplevel: x\nsources: []\nconfigs:\n"
                             "  a: {params: {}, cases: {vcs: [ImagesTest]}}\n"))  # fmt: skip


def test_shipped_cases_name_existing_classes() -> None:
    """Every test class a spec's `cases` names exists in its cocotb module."""
    for test in TESTS.values():
        source = (Path(__file__).parent / "tests" / f"{test.name}.py").read_text()
        for per_sim in test.cases.values():
            for classes in per_sim.values():
                for cls in classes:
                    assert f"class {cls}(" in source, f"{test.name}: no class {cls}"
