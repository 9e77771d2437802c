"""Every simulation test: its top level, RTL sources and parameter sets, read from
`verif/tests/<test>.yaml` beside each cocotb test module."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
RTL = ROOT / "rtl"
TESTS_DIR = Path(__file__).resolve().parent / "tests"


class SpecError(ValueError):
    """A test spec file is malformed."""


@dataclass(frozen=True)
class SimTest:
    """A cocotb test module run against one top level under several parameter sets."""

    name: str  # also the Python module in verif/tests
    toplevel: str
    sources: tuple[str, ...]  # relative to rtl/, in compile order
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)  # config id -> parameters
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # handed to the test as NEURAL_EXTRA
    config_extra: dict[str, dict[str, Any]] = field(default_factory=dict)  # per config, merged
    # Configs marked `tier: full` are too slow for every CI run; `make regress` runs them.
    full_only: frozenset[str] = frozenset()
    # `quick_sims: [...]` limits a config's CI (quick-tier) runs to those simulators.
    quick_sims: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # `sims: [...]` limits a config's regression runs (both tiers) to those simulators, and
    # `max_seeds: n` (or `{icarus: n}`, per simulator) to n seeds: for configs that take tens of
    # minutes on a simulator.
    sims: dict[str, tuple[str, ...]] = field(default_factory=dict)
    max_seeds: dict[str, dict[str, int]] = field(default_factory=dict)
    # `sim_extra: {icarus: {...}}`: extras for one simulator only (e.g. fewer images).
    sim_extra: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # `cases: {icarus: [Class, ...]}`: the only cocotb test classes a config runs on a simulator
    # (the others are covered by a smaller config there); unset means every class.
    cases: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    def in_quick_tier(self, config: str, sim: str) -> bool:
        if config in self.full_only:
            return False
        return sim in self.quick_sims.get(config, (sim,))

    def in_regression(self, config: str, sim: str) -> bool:
        return sim in self.sims.get(config, (sim,))

    def seeds_for(self, config: str, sim: str, seeds: int) -> int:
        """How many of `seeds` regression seeds this config runs on this simulator."""
        limit = self.max_seeds.get(config, {})
        return min(seeds, limit.get(sim, limit.get("*", seeds)))

    def extra_for(self, config: str, sim: str | None = None) -> dict[str, Any]:
        per_sim = self.sim_extra.get(config, {}).get(sim, {}) if sim else {}
        return {**self.extra, **self.config_extra.get(config, {}), **per_sim}

    def cases_for(self, config: str, sim: str) -> tuple[str, ...] | None:
        """The test classes this config runs on `sim`, or None for all of them."""
        return self.cases.get(config, {}).get(sim)

    def source_paths(self) -> list[Path]:
        return [RTL / s for s in self.sources]


def load_spec(path: Path) -> SimTest:
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping at the top level")
    missing = {"toplevel", "sources", "configs"} - set(raw)
    if missing:
        raise SpecError(f"{path}: missing keys {sorted(missing)}")
    # A config is either a plain parameter mapping or {params: {...}, extra: {...}, tier: ...}.
    configs, config_extra, full_only, quick_sims = {}, {}, set(), {}
    sims, max_seeds, sim_extra, cases = {}, {}, {}, {}
    for key, value in (raw["configs"] or {}).items():
        value = dict(value or {})
        if "params" in value:
            configs[str(key)] = dict(value["params"] or {})
            config_extra[str(key)] = dict(value.get("extra") or {})
            tier = value.get("tier", "quick")
            if tier not in ("quick", "full"):
                raise SpecError(f"{path}: config {key}: tier must be quick or full, not {tier!r}")
            if tier == "full":
                full_only.add(str(key))
            if "quick_sims" in value:
                quick_sims[str(key)] = tuple(value["quick_sims"])
            if "sims" in value:
                sims[str(key)] = tuple(value["sims"])
            if "max_seeds" in value:
                limit = value["max_seeds"]
                limit = limit if isinstance(limit, dict) else {"*": limit}
                if not all(isinstance(n, int) and n >= 1 for n in limit.values()):
                    raise SpecError(
                        f"{path}: config {key}: max_seeds must be a positive integer "
                        "(or a mapping of simulator to one)"
                    )
                max_seeds[str(key)] = {str(k): int(n) for k, n in limit.items()}
            if "sim_extra" in value:
                sim_extra[str(key)] = {
                    str(k): dict(v or {}) for k, v in (value["sim_extra"] or {}).items()
                }
            if "cases" in value:
                raw_cases = value["cases"]
                if not isinstance(raw_cases, dict) or not all(
                    isinstance(v, list) and v and all(isinstance(c, str) for c in v)
                    for v in raw_cases.values()
                ):
                    raise SpecError(
                        f"{path}: config {key}: cases must map a simulator to a list of test "
                        "class names"
                    )
                cases[str(key)] = {str(k): tuple(v) for k, v in raw_cases.items()}
            for k in ("sims", "quick_sims", "cases"):
                bad = set(value.get(k, ())) - {"icarus", "verilator"}
                if bad:
                    raise SpecError(f"{path}: config {key}: unknown simulators {sorted(bad)}")
        else:
            configs[str(key)] = value
    test = SimTest(
        name=path.stem,
        toplevel=str(raw["toplevel"]),
        sources=tuple(raw["sources"]),
        configs=configs,
        config_extra=config_extra,
        full_only=frozenset(full_only),
        quick_sims=quick_sims,
        sims=sims,
        max_seeds=max_seeds,
        sim_extra=sim_extra,
        cases=cases,
        description=str(raw.get("description", "")),
        extra=dict(raw.get("extra") or {}),
    )
    for src in test.source_paths():
        if not src.is_file():
            raise SpecError(f"{path}: source {src} does not exist")
    if not (TESTS_DIR / f"{test.name}.py").is_file():
        raise SpecError(f"{path}: no cocotb module {test.name}.py beside it")
    if not test.configs:
        raise SpecError(f"{path}: needs at least one config")
    return test


def load_tests() -> dict[str, SimTest]:
    return {p.stem: load_spec(p) for p in sorted(TESTS_DIR.glob("test_*.yaml"))}


TESTS: dict[str, SimTest] = load_tests()
