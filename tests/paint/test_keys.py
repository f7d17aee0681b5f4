"""Style keys: the syntax, the mix of every frame (ramps, holds, a cut ends a ramp), the checks before any work,
the job's round trip, and a clip whose mix changes costs no style image's network pass more than a constant one."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
import torch

from vidstyle.config import SettingError
from vidstyle.core.styles import parse_style_spec
from vidstyle.core.targets import StyleTargets, mixed_gram_targets
from vidstyle.job import Job
from vidstyle.media.decode import Position
from vidstyle.paint.keys import Timeline, blend, key_frame, parse_style_key, resolve_keys

from ..conftest import translating_clip


def weights(mix) -> dict[str, float]:
    return {e.source: round(e.weight, 6) for e in mix}


def test_a_key_reads_as_time_equals_styles_with_an_optional_hold():
    key = parse_style_key("4s=swirl")
    assert key.at == Position(seconds=Fraction(4)) and not key.hold and weights(key.styles) == {"swirl": 1.0}
    held = parse_style_key(" 96f:hold=swirl:1,mosaic:3 ")
    assert held.at == Position(frame=96) and held.hold and weights(held.styles) == {"swirl": 0.25, "mosaic": 0.75}
    for bad, words in (("swirl", "TIME=STYLES"), ("4s=", "TIME=STYLES"), ("soon=swirl", "a time like"),
                       ("4s=nosuchstyle", "nosuchstyle")):
        with pytest.raises(ValueError, match=words):
            parse_style_key(bad)


def test_keys_are_placed_on_frames_and_checked():
    fps = Fraction(12)
    assert key_frame(Position(seconds=Fraction(1)), fps) == 12
    assert key_frame(Position(seconds=Fraction(1, 10)), fps) == 2  # the first frame at or after the time
    keys = [parse_style_key("1s=swirl"), parse_style_key("6f=mosaic")]
    assert [f for f, _ in resolve_keys(keys, fps, 24)] == [6, 12]
    with pytest.raises(SettingError, match=r"the key at 2s falls on frame 24, past the clip's end \(24 frames, 2.00"):
        resolve_keys([parse_style_key("2s=mosaic")], fps, 24)
    with pytest.raises(SettingError, match="the keys at 1s and 12f fall on the same frame 12"):
        resolve_keys([parse_style_key("1s=swirl"), parse_style_key("12f=mosaic")], fps, 24)


def test_the_mix_ramps_between_keys_holds_where_asked_and_a_cut_ends_a_ramp():
    swirl, mosaic = parse_style_spec("swirl"), parse_style_spec("mosaic")
    timeline = Timeline(swirl, [(10, parse_style_key("10f=mosaic")), (20, parse_style_key("20f:hold=swirl"))])
    assert weights(timeline.mix_at(0)) == {"swirl": 1.0}
    assert weights(timeline.mix_at(4)) == {"swirl": 0.6, "mosaic": 0.4} and timeline.ramping(4)
    assert weights(timeline.mix_at(10)) == {"mosaic": 1.0}
    assert weights(timeline.mix_at(19)) == {"mosaic": 1.0} and not timeline.ramping(19)  # held until the key
    assert weights(timeline.mix_at(20)) == weights(timeline.mix_at(99)) == {"swirl": 1.0}
    timeline.note_cuts([6])  # a new shot at frame 6: from there it has the mix the ramp was heading to
    assert weights(timeline.mix_at(5)) == {"swirl": 0.5, "mosaic": 0.5}
    assert weights(timeline.mix_at(6)) == weights(timeline.mix_at(8)) == {"mosaic": 1.0}
    assert not timeline.ramping(7)
    later = Timeline(swirl, [(-2, parse_style_key("0f=mosaic")), (8, parse_style_key("10f=swirl"))], base_frame=-2)
    # a range from the clip's frame 2: the key at the clip's start replaced `styles`, and the ramp is 2/10 along
    assert weights(later.mix_at(0)) == {"mosaic": 0.8, "swirl": 0.2}
    assert weights(blend(swirl, mosaic, 0.25)) == {"swirl": 0.75, "mosaic": 0.25}


def test_a_frame_is_aimed_ahead_within_a_ramp_but_never_past_its_key_a_hold_or_a_cut():
    swirl = parse_style_spec("swirl")
    timeline = Timeline(swirl, [(10, parse_style_key("10f=mosaic")), (20, parse_style_key("20f:hold=swirl"))])
    assert weights(timeline.aimed(4, 2)) == weights(timeline.mix_at(6)) == {"swirl": 0.4, "mosaic": 0.6}
    assert weights(timeline.aimed(4, 0)) == weights(timeline.mix_at(4))
    assert weights(timeline.aimed(9, 2)) == {"mosaic": 1.0}  # the key the ramp ends at, not beyond
    assert weights(timeline.aimed(18, 3)) == {"mosaic": 1.0}  # before a hold key: its own mix, no early switch
    assert weights(timeline.aimed(25, 3)) == {"swirl": 1.0}
    timeline.note_cuts([6])
    assert weights(timeline.aimed(7, 2)) == {"mosaic": 1.0}  # the cut ended the ramp


def test_a_mix_is_the_sum_of_grams_computed_once_per_image_and_size(tiny, monkeypatch):
    from vidstyle.core import targets as module
    from vidstyle.core.features import load_extractor

    extractor = load_extractor(tiny.features, tiny.loss.style_layers, torch.device("cpu"))
    reference = torch.rand(1, 3, 32, 48, generator=torch.Generator().manual_seed(0))
    targets = StyleTargets(extractor, tiny, reference)
    loads = []
    real = module.load_style_images
    monkeypatch.setattr(module, "load_style_images", lambda entries, *a, **k: loads.append(len(entries)) or real(
        entries, *a, **k))
    swirl, mosaic = parse_style_spec("swirl"), parse_style_spec("mosaic")
    for t in (0.0, 0.1, 0.5, 0.9, 1.0, 0.3):
        targets.get(blend(swirl, mosaic, t), (32, 48))
    assert sum(loads) == 2  # one per image at this size, however many mixes
    mix = blend(swirl, mosaic, 0.3)
    images = real(mix, reference, tiny.style, long_side=48)
    expected = mixed_gram_targets(extractor, images, [e.weight for e in mix], tiny.loss.style_layers)
    got = targets.get(mix, (32, 48))
    assert all(torch.equal(got[name], expected[name]) for name in expected)  # the same sum, to the bit


def test_a_job_carries_its_keys_through_the_command_line_and_jobs_toml(tmp_path, make_clip):
    clip = make_clip(translating_clip(4, 32, 48), audio=False)
    values = {"input": clip, "output": tmp_path / "o.mp4", "styles": "swirl",
              "style_key": ["2f=mosaic", "3f:hold=swirl"]}
    job = Job.from_values(values)
    assert job.style_key == ("2f=mosaic", "3f:hold=swirl")
    assert job.to_argv()[-4:] == ["--style-key", "2f=mosaic", "--style-key", "3f:hold=swirl"]
    assert 'style_key = ["2f=mosaic", "3f:hold=swirl"]' in job.to_toml()
    from vidstyle.cli.options import job_from_argv

    assert job_from_argv(job.to_argv()) == job
    with pytest.raises(SettingError, match="style_key"):
        Job.from_values({**values, "style_key": ["2f=nosuchstyle"]})
    with pytest.raises(SettingError, match="expected `styles` with style keys"):
        Job.from_values({**values, "styles": None, "region": [f"{clip}=swirl"]})


def test_a_clip_follows_its_keys_frame_by_frame(make_clip, tmp_path, tiny, monkeypatch):
    from vidstyle.config import VideoConfig
    from vidstyle.paint.style import Styling
    from vidstyle.video.pipeline import stylize_video

    asked: dict[int, dict] = {}
    real = Styling.at
    monkeypatch.setattr(Styling, "at", lambda self, index, size: asked.setdefault(
        index, weights(self.specs_at(index)[0])) and real(self, index, size))
    clip = make_clip(translating_clip(6, 32, 48, dx=1.0), audio=False)
    own = replace(tiny, temporal=replace(tiny.temporal, key_lead=0))
    stylize_video(clip, tmp_path / "own.mp4", "swirl", config=own, video=VideoConfig(max_size=None), device="cpu",
                  style_keys=["4f=mosaic"])
    assert asked == {0: {"swirl": 1.0}, 1: {"swirl": 0.75, "mosaic": 0.25}, 2: {"swirl": 0.5, "mosaic": 0.5},
                     3: {"swirl": 0.25, "mosaic": 0.75}, 4: {"mosaic": 1.0}, 5: {"mosaic": 1.0}}
    # By default a warm frame within the ramp is painted toward the mix two frames ahead, never past the key; the
    # clip's first frame (a cold start, which does not lag) toward its own.
    asked.clear()
    assert tiny.temporal.key_lead == 2
    stylize_video(clip, tmp_path / "out.mp4", "swirl", config=tiny, video=VideoConfig(max_size=None), device="cpu",
                  style_keys=["4f=mosaic"])
    assert asked == {0: {"swirl": 1.0}, 1: {"swirl": 0.25, "mosaic": 0.75}, 2: {"mosaic": 1.0},
                     3: {"mosaic": 1.0}, 4: {"mosaic": 1.0}, 5: {"mosaic": 1.0}}
    with pytest.raises(SettingError, match="past the clip's end"):
        stylize_video(clip, tmp_path / "late.mp4", "swirl", config=tiny, device="cpu", style_keys=["9f=mosaic"])


def test_a_masked_frame_painted_with_and_without_the_lead_gets_each_its_own_targets(tiny):
    """A cold frame and the later passes paint toward a frame's own mix (``replace(styling, lead=0)``) while the
    first pass's warm frames aim ahead; the regions built for one frame must not be handed to the other."""
    import numpy as np

    from vidstyle.core.features import load_extractor
    from vidstyle.paint.style import Styling

    extractor = load_extractor(tiny.features, tiny.loss.style_layers, torch.device("cpu"))
    targets = StyleTargets(extractor, tiny, torch.rand(1, 3, 32, 48, generator=torch.Generator().manual_seed(0)))
    timeline = Timeline(parse_style_spec("swirl"), [(8, parse_style_key("8f=mosaic"))])
    mask = np.zeros((32, 48), np.float32)
    mask[:, :24] = 1.0
    styling = Styling(targets, [parse_style_spec("swirl")], None, True, lambda i: [mask], tiny.loss.style_layers,
                      torch.device("cpu"), timeline, lead=2)
    aimed = styling.at(3, (32, 48))[0][0].targets
    own = replace(styling, lead=0).at(3, (32, 48))[0][0].targets
    expected = targets.get(timeline.mix_at(3), (32, 48))
    assert all(torch.equal(own[name], expected[name]) for name in expected)
    assert not all(torch.equal(aimed[name], own[name]) for name in own)


def test_a_frame_catches_up_with_a_moved_mix_on_the_side_it_is_held_to_and_more_freely_with_passes_to_come():
    """The first pass holds a frame to the frames before it, a later pass to both neighbours: a frame whose mix
    differs from a near frame on a side it is held to gets 3x the budget, and in a run with later passes a weaker
    hold (``CATCH_UP_HOLD``); a one-pass run keeps the full hold, so its output is unchanged."""
    from vidstyle.core.objective import TemporalTerm
    from vidstyle.paint.start import Budget, Start
    from vidstyle.paint.style import CATCH_UP, CATCH_UP_HOLD, Styling

    timeline = Timeline(parse_style_spec("swirl"), [(4, parse_style_key("4f=mosaic"))])  # a ramp over frames 1-4
    styling = Styling(None, [parse_style_spec("swirl")], None, False, lambda i: [], ("relu1_1",),
                      torch.device("cpu"), timeline)
    first = [i for i in range(12) if styling.catching_up(i)]
    later = [i for i in range(12) if styling.catching_up(i, both_sides=True)]
    assert first == [1, 2, 3, 4, 5, 6]  # the ramp and the 3 frames after its last change
    assert later == [0, 1, 2, 3, 4, 5, 6]  # the ramp's first frame is now held to the ramp after it
    assert not Styling(None, [parse_style_spec("swirl")], None, False, lambda i: [], ("relu1_1",),
                       torch.device("cpu")).catching_up(3, both_sides=True)  # no keys: nothing moves

    image = torch.rand(1, 3, 8, 8)
    start = Start(image, Budget(1, 11, 6), [TemporalTerm(image, torch.full((1, 1, 8, 8), 0.8))])
    assert styling.catch_up(start, 9, pass_index=2, passes=2) is start  # the mix has not moved near frame 9
    one = styling.catch_up(start, 2, passes=1)
    assert (one.budget.iterations, one.budget.fine_iterations) == (11 * CATCH_UP, 6 * CATCH_UP)
    assert torch.equal(one.temporal[0].weight, start.temporal[0].weight)
    for pass_index in (1, 2):
        more = styling.catch_up(start, 2, pass_index=pass_index, passes=2)
        assert more.budget.iterations == 11 * CATCH_UP
        assert torch.allclose(more.temporal[0].weight, 0.8 * CATCH_UP_HOLD * torch.ones(1, 1, 8, 8))
        assert torch.equal(more.temporal[0].warped, image)
    assert styling.catch_up(start, 0, pass_index=1, passes=2) is start  # the first pass does not look ahead
    assert styling.catch_up(start, 0, pass_index=2, passes=2).budget.iterations == 11 * CATCH_UP



def test_with_later_passes_the_first_pass_repaints_a_keys_frame_coarse_to_fine_and_a_one_pass_run_does_not():
    from vidstyle.core.objective import TemporalTerm
    from vidstyle.paint.start import Budget, Start
    from vidstyle.paint.style import (CATCH_UP, KEY_REPAINT_FULL, KEY_REPAINT_HALF, KEY_REPAINT_HOLD, Styling)

    def styling(*keys: str) -> Styling:
        timeline = Timeline(parse_style_spec("swirl"), [(int(k.split("f")[0]), parse_style_key(k)) for k in keys])
        return Styling(None, [parse_style_spec("swirl")], None, False, lambda i: [], ("relu1_1",),
                       torch.device("cpu"), timeline)

    ramp, switch, chain = styling("4f=mosaic"), styling("4f:hold=mosaic"), styling("4f=mosaic", "8f=swirl")
    assert [i for i in range(12) if ramp.at_key(i)] == [4]  # where the ramp over frames 1-4 ends
    assert [i for i in range(12) if switch.at_key(i)] == [4]  # where the switch lands
    assert [i for i in range(12) if chain.at_key(i)] == [8]  # a key that starts the next ramp is one of its steps
    image = torch.rand(1, 3, 8, 8)
    start = Start(image, Budget(1, 11, 6), [TemporalTerm(image, torch.full((1, 1, 8, 8), 0.8))])
    repaint = ramp.catch_up(start, 4, pass_index=1, passes=2)
    assert repaint.budget == Budget(2, KEY_REPAINT_HALF, KEY_REPAINT_FULL, 0.0, residual=True)
    assert torch.allclose(repaint.temporal[0].weight, 0.8 * KEY_REPAINT_HOLD * torch.ones(1, 1, 8, 8))
    assert torch.equal(repaint.init, image) and torch.equal(repaint.temporal[0].warped, image)
    assert ramp.catch_up(start, 4, passes=1).budget == Budget(1, 11 * CATCH_UP, 6 * CATCH_UP)  # one pass: as before
    assert ramp.catch_up(start, 4, pass_index=2, passes=2).budget.scales == 1  # the later pass catches up as before
    assert ramp.catch_up(start, 3, pass_index=1, passes=2).budget.scales == 1  # a ramp's step too
    # a later pass takes no neighbour across a switch (painted for the other mix), and every neighbour elsewhere
    assert [i for i in range(11) if switch.switch_between(i, i + 1)] == [3]
    assert switch.switch_between(4, 3) and not any(ramp.switch_between(i, i + 1) for i in range(11))
    assert not any(chain.switch_between(i, i + 1) for i in range(11))
