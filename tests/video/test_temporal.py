import pytest

from vidstyle.config import TemporalConfig
from vidstyle.motion.flow import histogram_correlation
from vidstyle.video.temporal import Prefetch, detect_cut, prepare_frames

from ..conftest import as_frames, textured, translating_clip


def test_cuts_are_detected_and_break_the_flow_chain():
    a = translating_clip(3, 64, 80, dx=1.0, seed=1)
    b = [255 - f for f in translating_clip(3, 64, 80, dx=1.0, seed=7)]
    preps = list(prepare_frames(as_frames(a + b), TemporalConfig(long_term=(1, 2))))
    assert [p.cut for p in preps] == [True, False, False, True, False, False]
    assert preps[3].flows == {}  # nothing warped across the cut
    assert set(preps[4].flows) == {1}  # offset 2 would cross the cut
    assert set(preps[5].flows) == {1, 2}
    assert histogram_correlation(a[0], a[1]) > 0.9
    assert detect_cut(0.1, 0.99, TemporalConfig()) and detect_cut(0.9, 0.1, TemporalConfig())
    assert not detect_cut(0.9, 0.9, TemporalConfig())


def test_prepare_keeps_only_what_the_offsets_need():
    frames = [textured(32, 32, seed=i % 3) for i in range(8)]
    preps = list(prepare_frames(as_frames(frames), TemporalConfig(long_term=(1, 3), cut_reliable_fraction=0,
                                                             cut_histogram_correlation=-1)))
    assert set(preps[2].flows) == {1} and set(preps[7].flows) == {1, 3}


def test_no_flow_when_temporal_is_off():
    frames = translating_clip(3, 32, 32)
    assert all(p.flows == {} for p in prepare_frames(as_frames(frames), TemporalConfig(enabled=False)))


def test_prefetch_hands_over_items_and_errors_in_order():
    def items():
        yield 1
        yield 2
        raise ValueError("broken clip")

    with Prefetch(items()) as prefetched:
        got = []
        with pytest.raises(ValueError, match="broken clip"):
            for item in prefetched:
                got.append(item)
    assert got == [1, 2]


def test_leaving_prefetch_early_stops_and_joins_its_thread():
    closed = []

    def endless():
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            closed.append(True)  # the decoder is released in the worker thread

    with Prefetch(endless(), depth=2) as prefetched:
        for item in prefetched:
            if item == 3:
                break
    assert not prefetched._worker.is_alive() and closed == [True]


def test_the_stop_rule_waits_for_style():
    from vidstyle.config import RunConfig
    from vidstyle.video.temporal import stop_rule

    may_stop = stop_rule(0.1, RunConfig())
    assert may_stop({"style": 0.12})  # within 1.25 x the shot's median
    assert not may_stop({"style": 0.2})  # a flash in the making
    assert stop_rule(None, RunConfig()) is None  # the shot's first
