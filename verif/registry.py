"""Every simulation test: its top level, RTL sources and the parameter sets it runs with."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RTL = ROOT / "rtl"
TESTS_DIR = Path(__file__).resolve().parent / "tests"


@dataclass(frozen=True)
class SimTest:
    """A cocotb test module run against one top level under several parameter sets."""

    name: str  # also the Python module in verif/tests
    toplevel: str
    sources: tuple[str, ...]  # relative to rtl/, in compile order
    configs: dict[str, dict[str, int]] = field(default_factory=dict)  # config id -> parameters
    description: str = ""

    def source_paths(self) -> list[Path]:
        return [RTL / s for s in self.sources]


TESTS: dict[str, SimTest] = {
    t.name: t
    for t in [
        SimTest(
            name="test_elastic_fifo",
            toplevel="elastic_fifo",
            sources=("elastic_fifo.sv",),
            configs={
                "w8_d2": {"Width": 8, "Depth": 2},
                "w1_d3": {"Width": 1, "Depth": 3},
                "w16_d5": {"Width": 16, "Depth": 5},
                "w40_d16": {"Width": 40, "Depth": 16},
            },
            description="elastic FIFO: order, data, level/flags, throughput, empty/full corners",
        ),
        SimTest(
            name="test_event_filter",
            toplevel="event_filter",
            sources=("event_filter.sv",),
            configs={
                "c1": {"Channels": 1, "PosW": 4},
                "c37": {"Channels": 37, "PosW": 10},
                "c64": {"Channels": 64, "PosW": 10},
                "c512": {"Channels": 512, "PosW": 10},
            },
            description="event filter: sparsity 0..100%, lowest channel first, last flag, timing",
        ),
    ]
}
