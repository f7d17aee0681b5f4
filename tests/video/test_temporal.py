import numpy as np
import pytest
import torch

from vidstyle.config import RunConfig, TemporalConfig
from vidstyle.motion.cuts import histogram_correlation
from vidstyle.motion.uncover import uncovered
from vidstyle.video.temporal import FramePrep, Prefetch, detect_cut, prepare_frames, warm_start

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


def test_a_chunks_carried_frames_take_only_their_short_term_flow():
    frames = translating_clip(7, 64, 96, dx=2.0, seed=3)
    seen = []

    def flow(grey, earlier, t, s):
        seen.append((t, s))
        return torch.zeros(1, 2, *grey.shape), torch.ones(1, 1, *grey.shape)

    preps = list(prepare_frames(as_frames(frames), TemporalConfig(long_term=(1, 2)), flow=flow, carried=4))
    assert seen == [(1, 0), (2, 1), (3, 2), (4, 3), (4, 2), (5, 4), (5, 3), (6, 5), (6, 4)]
    assert [set(p.flows) for p in preps] == [set(), {1}, {1}, {1}, {1, 2}, {1, 2}, {1, 2}]


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


def test_prefetch_works_with_torch_on_one_thread_beside_the_optimisation():
    # A live thread that used torch with the process's thread count slowed the optimisation (a first frame at 512 px:
    # 33 s against 26 s); the prefetch's torch runs on one thread, the caller's count is kept.
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)

        def items():
            for n in range(3):
                torch.nn.functional.interpolate(torch.rand(1, 2, 8, 8), size=(4, 4), mode="bilinear")
                yield torch.get_num_threads()

        with Prefetch(items()) as prefetched:
            assert list(prefetched) == [1, 1, 1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_the_stop_rule_waits_for_style():
    from vidstyle.config import RunConfig
    from vidstyle.video.temporal import stop_rule

    may_stop = stop_rule(0.1, RunConfig())
    assert may_stop({"style": 0.12})  # within 1.25 x the shot's median
    assert not may_stop({"style": 0.2})  # a flash in the making
    assert stop_rule(None, RunConfig()) is None  # the shot's first


def _object_moving_right(shift: int = 4):
    """Frames 0 and 1 of a yellow block moving right over a still blue-grey road, their stylized frame 0 (the
    road blue, the block yellow) and frame 1's backward flow; the band the block uncovers is unreliable."""
    road = np.full((40, 56, 3), (90, 100, 120), np.uint8)
    first, second = road.copy(), road.copy()
    first[8:30, 16:34] = (230, 200, 40)
    second[8:30, 16 + shift:34 + shift] = (230, 200, 40)
    painted = np.full((40, 56, 3), (40, 60, 180), np.uint8)
    painted[8:30, 16:34] = (240, 215, 30)
    flow = torch.zeros(1, 2, 40, 56)
    flow[0, 0, 8:30, 16 + shift:34 + shift] = -shift
    mask = torch.ones(1, 1, 40, 56)
    mask[0, 0, 8:30, 16:16 + shift] = 0
    return first, second, painted, flow, mask


@pytest.mark.parametrize("fill", [True, False])
def test_the_warm_start_fills_what_an_object_uncovers_with_the_paint_around_it(fill):
    first, second, painted, flow, mask = _object_moving_right()
    prep = FramePrep(1, second, flows={1: (flow, mask)})
    config = RunConfig(temporal=TemporalConfig(fill_uncovered=fill))
    start = warm_start(prep, {0: painted}, torch.zeros(1, 3, 40, 56), 0, config, contents={0: first})
    band = start.init[0, :, 8:30, 16:20]
    weight = start.temporal[0].weight
    if fill:  # the road's blue, and no temporal target there
        assert band[2].min() > 0.6 and band[0].max() < 0.25
        assert weight[0, 0, 8:30, 16:20].max() == 0
    else:  # Ruder's start: the warped paint of the block
        assert band[2].max() < 0.2
    assert torch.equal(weight[0, 0, :, 30:], mask[0, 0, :, 30:])
    assert torch.allclose(start.init[0, :, :, 40:], start.temporal[0].warped[0, :, :, 40:])


@pytest.mark.parametrize("margin", [2, 0])
def test_the_warm_start_refills_the_halo_the_object_left_beside_the_band(margin):
    """The object's paint bled onto the road beside its trailing edge (a halo). With ``uncover_margin`` that road is
    filled from the road beyond and has no temporal target; without it the halo is kept and held."""
    first, second, painted, flow, mask = _object_moving_right()
    painted[8:30, 14:16] = (220, 210, 120)  # the halo, on the still road left of the block
    prep = FramePrep(1, second, flows={1: (flow, mask)})
    config = RunConfig(temporal=TemporalConfig(uncover_margin=margin))
    start = warm_start(prep, {0: painted}, torch.zeros(1, 3, 40, 56), 0, config, contents={0: first})
    halo = start.init[0, :, 10:28, 14:16]
    weight = start.temporal[0].weight[0, 0, 10:28, 14:16]
    if margin:
        assert halo[2].min() > 0.6 and halo[0].max() < 0.25 and weight.max() == 0
    else:
        assert halo[0].min() > 0.8 and weight.min() == 1
    assert start.temporal[0].weight[0, 0, 10:28, :10].min() == 1  # the road further off keeps its hold


@pytest.mark.parametrize("margin", [2, 0])
def test_the_prefetch_finds_the_uncovered_pixels_with_the_runs_margin(margin):
    """``prepare_frames(uncover=True)`` finds frame 1's hole off the optimisation's thread, margin included, as
    ``warm_start`` would find it itself."""
    first, second, _, flow, mask = _object_moving_right()
    config = TemporalConfig(uncover_margin=margin)
    preps = list(prepare_frames(as_frames([first, second]), config, flow=lambda *_: (flow, mask), uncover=True))
    assert preps[1].uncovered is not None and preps[1].uncovered[8:30, 16:20].all()
    assert np.array_equal(preps[1].uncovered, uncovered(second, first, flow, mask, margin))
    assert preps[1].uncovered[10:28, 14:16].all() == bool(margin)
