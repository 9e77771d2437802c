"""In-order scoreboard: compares a predicted stream with an observed one, item by item."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyuvm import uvm_component, uvm_tlm_analysis_fifo


class ScoreboardError(AssertionError):
    """The observed stream differs from the prediction."""


@dataclass
class Mismatch:
    index: int
    expected: Any
    actual: Any
    detail: str

    def __str__(self) -> str:
        return f"item {self.index}: expected {self.expected}, got {self.actual} ({self.detail})"


def default_compare(expected: Any, actual: Any) -> str | None:
    """None when equal, otherwise a short description of what differs."""
    if expected == actual:
        return None
    exp_f = getattr(expected, "fields", None)
    act_f = getattr(actual, "fields", None)
    if isinstance(exp_f, dict) and isinstance(act_f, dict):
        diffs = [
            f"{k}: 0x{exp_f.get(k, 0):x} != 0x{act_f.get(k, 0):x}"
            for k in sorted(set(exp_f) | set(act_f))
            if exp_f.get(k) != act_f.get(k)
        ]
        return ", ".join(diffs)
    return "values differ"


class InOrderScoreboard(uvm_component):
    """Write predictions to `expected_export` and observations to `actual_export`.

    Items are paired in order as they arrive. The first mismatch is logged with the items that
    matched just before it; `check_phase` fails the test on any mismatch, on a missing output and
    on an unexpected extra output, unless `expect_errors` is set (used by error-injection tests,
    which then inspect `mismatches` themselves)."""

    CONTEXT = 4

    def __init__(
        self,
        name: str,
        parent: Any,
        compare: Callable[[Any, Any], str | None] | None = None,
    ) -> None:
        super().__init__(name, parent)
        self.compare = compare or default_compare
        self.expect_errors = False

    def build_phase(self) -> None:
        self.expected_fifo = uvm_tlm_analysis_fifo("expected_fifo", self)
        self.actual_fifo = uvm_tlm_analysis_fifo("actual_fifo", self)
        self.matched = 0
        self.mismatches: list[Mismatch] = []
        self.last_actual: Any = None
        self._history: deque[tuple[Any, Any]] = deque(maxlen=self.CONTEXT)

    def connect_phase(self) -> None:
        self.expected_export = self.expected_fifo.analysis_export
        self.actual_export = self.actual_fifo.analysis_export

    async def run_phase(self) -> None:
        index = 0
        while True:
            actual = await self.actual_fifo.get()
            self.last_actual = actual
            ok, expected = self.expected_fifo.try_get()
            if not ok:
                self._record(Mismatch(index, None, actual, "output with no prediction"))
            else:
                self._check(index, expected, actual)
            index += 1

    def _check(self, index: int, expected: Any, actual: Any) -> None:
        detail = self.compare(expected, actual)
        if detail is None:
            self.matched += 1
            self._history.append((expected, actual))
        else:
            self._record(Mismatch(index, expected, actual, detail))

    def _record(self, mismatch: Mismatch) -> None:
        if not self.mismatches:
            log = self.logger.warning if self.expect_errors else self.logger.error
            log("first mismatch at %s", mismatch)
            for i, (exp, _) in enumerate(self._history):
                log("  matched before it [%d]: %s", mismatch.index - len(self._history) + i, exp)
        self.mismatches.append(mismatch)

    def leftover_expected(self) -> list[Any]:
        items = []
        while True:
            ok, item = self.expected_fifo.try_get()
            if not ok:
                return items
            items.append(item)

    def check_phase(self) -> None:
        missing = self.leftover_expected()
        self.missing = missing
        self.logger.info(
            "%d matched, %d mismatched, %d predicted but never seen",
            self.matched,
            len(self.mismatches),
            len(missing),
        )
        if self.expect_errors:
            return
        problems = []
        if self.mismatches:
            problems.append(f"{len(self.mismatches)} mismatches, first: {self.mismatches[0]}")
        if missing:
            problems.append(f"{len(missing)} predicted items never came out, first: {missing[0]}")
        if problems:
            raise ScoreboardError(f"{self.get_full_name()}: " + "; ".join(problems))
        if self.matched == 0:
            raise ScoreboardError(f"{self.get_full_name()}: no item was compared")


class ErrorInjector:
    """Corrupts observed item number `victim` on a monitor, then `check()` proves that the
    scoreboard flagged that item and nothing else (and lost nothing)."""

    def __init__(
        self,
        monitor: Any,
        scoreboard: InOrderScoreboard,
        victim: int,
        mutate: Callable[[Any], None],
    ) -> None:
        self.scoreboard = scoreboard
        self.victim = victim
        scoreboard.expect_errors = True

        def tamper(index: int, item: Any) -> None:
            if index == victim:
                mutate(item)

        monitor.tamper = tamper

    def check(self) -> None:
        flagged = [m.index for m in self.scoreboard.mismatches]
        if flagged != [self.victim]:
            raise ScoreboardError(
                f"scoreboard should flag exactly item {self.victim}, flagged {flagged[:8]}"
            )
        if self.scoreboard.missing:
            raise ScoreboardError("the injected corruption must not lose items")
        self.scoreboard.logger.info("caught the injected error at item %d", self.victim)
