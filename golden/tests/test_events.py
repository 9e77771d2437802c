"""Unit tests of the event front end reference."""

import numpy as np
import pytest

from golden.events import Event, spike_map_to_words, word_from_bits, word_to_events


def test_lowest_channel_first_and_last_flag() -> None:
    assert word_to_events(0b1010_0001, 8, 7) == [
        Event(0, 7, False),
        Event(5, 7, False),
        Event(7, 7, True),
    ]


def test_zero_word_gives_no_event() -> None:
    assert word_to_events(0, 512, 3) == []


def test_full_word_gives_every_channel() -> None:
    ev = word_to_events((1 << 512) - 1, 512, 0)
    assert [e.ch for e in ev] == list(range(512))
    assert [e.last for e in ev].count(True) == 1 and ev[-1].last


def test_rejects_bits_outside_the_channel_count() -> None:
    with pytest.raises(ValueError, match="outside 4 channels"):
        word_to_events(0b1_0000, 4, 0)


def test_spike_map_round_trip() -> None:
    rng = np.random.default_rng(1)
    spikes = rng.random((20, 3, 5)) < 0.3
    words = spike_map_to_words(spikes)
    assert [p for _, p in words] == list(range(15))
    for word, p in words:
        y, x = divmod(p, 5)
        assert word == word_from_bits(spikes[:, y, x])
