"""Reusable pyuvm components: stream agents, scoreboards, base env/test, seeding and coverage."""

from verif.neural_tb.base import BaseEnv, BaseTest, Forward, TbConfig
from verif.neural_tb.coverage import CoverageCollector
from verif.neural_tb.scoreboard import (
    ErrorInjector,
    InOrderScoreboard,
    Mismatch,
    ScoreboardError,
)
from verif.neural_tb.stream import (
    StreamAgent,
    StreamAgentConfig,
    StreamBus,
    StreamItem,
    StreamMonitor,
    StreamSequence,
    StreamSinkDriver,
    StreamSourceDriver,
)

__all__ = [
    "BaseEnv",
    "BaseTest",
    "CoverageCollector",
    "ErrorInjector",
    "Forward",
    "InOrderScoreboard",
    "Mismatch",
    "ScoreboardError",
    "StreamAgent",
    "StreamAgentConfig",
    "StreamBus",
    "StreamItem",
    "StreamMonitor",
    "StreamSequence",
    "StreamSinkDriver",
    "StreamSourceDriver",
    "TbConfig",
]
