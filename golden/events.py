"""Reference behaviour of the event front end: spike words in, address events out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np


class Event(NamedTuple):
    """One spike at channel `ch` of position `pos`; `last` marks the final spike of its word."""

    ch: int
    pos: int
    last: bool


def word_from_bits(bits: Sequence[int] | np.ndarray) -> int:
    """Pack a per-channel 0/1 vector into a spike word (bit c is channel c)."""
    arr = np.asarray(bits).astype(bool).ravel()
    return int(sum(1 << int(c) for c in np.flatnonzero(arr)))


def word_to_events(word: int, channels: int, pos: int) -> list[Event]:
    """Events of one spike word, lowest channel first; an all-zero word gives none."""
    if channels < 1:
        raise ValueError(f"channels must be >= 1, got {channels}")
    if word < 0 or word >> channels:
        raise ValueError(f"word 0x{word:x} has bits outside {channels} channels")
    chans = [c for c in range(channels) if (word >> c) & 1]
    return [Event(c, pos, i == len(chans) - 1) for i, c in enumerate(chans)]


def words_to_events(words: Iterable[tuple[int, int]], channels: int) -> list[Event]:
    """Events of a sequence of (word, position) pairs, in arrival order."""
    out: list[Event] = []
    for word, pos in words:
        out.extend(word_to_events(word, channels, pos))
    return out


def spike_map_to_words(spikes: np.ndarray) -> list[tuple[int, int]]:
    """Row-major (word, position) pairs of a [C, H, W] spike map; position = y * W + x."""
    if spikes.ndim != 3:
        raise ValueError(f"spike map must be [C, H, W], got shape {spikes.shape}")
    c, h, w = spikes.shape
    flat = spikes.reshape(c, h * w).astype(bool)
    return [(word_from_bits(flat[:, p]), p) for p in range(h * w)]
