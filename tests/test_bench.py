"""The bench's own bookkeeping: a partial run (``--only``) rewrites its sections and keeps the others."""

from bench.__main__ import _merged

PREVIOUS = """# Benchmarks

Produced by `python -m bench` (commit aaa1111) in 1 min.

<!-- bench section clip, commit aaa1111 -->
## Whole clip: wall time and quality, side by side

| old clip table |

<!-- bench section stability, commit bbb2222 -->
## Temporal stability, by rulers the pipeline did not make

### (a) a clip

| old stability table |
"""


def test_a_partial_run_keeps_the_other_sections_whole_and_marks_them():
    fresh = "<!-- bench section clip, commit ccc3333 -->\n## Whole clip: wall time and quality, side by side\n\nnew\n"
    merged = "\n".join(_merged(PREVIOUS, {"clip": fresh}))
    assert merged.startswith(fresh) and "old clip table" not in merged
    stability = merged[merged.index("<!-- bench section stability, commit bbb2222 -->"):]
    assert "### (a) a clip" in stability and "| old stability table |" in stability
    assert "*Earlier run: measured at commit bbb2222" in stability
    assert merged.count("## Temporal stability") == 1


def test_an_earlier_section_names_the_machine_it_ran_on():
    previous = PREVIOUS.replace("in 1 min.", "in 1 min on: Old CPU, 2 torch threads, no GPU.").replace(
        "<!-- bench section clip, commit aaa1111 -->", "<!-- bench section clip, commit aaa1111, on Other CPU -->")
    fresh = ("<!-- bench section stability, commit ccc3333, on New CPU -->\n"
             "## Temporal stability, by rulers the pipeline did not make\n\nnew\n")
    merged = "\n".join(_merged(previous, {"stability": fresh}))
    assert "*Earlier run: measured at commit aaa1111 on Other CPU, not re-run" in merged
    assert fresh in merged and "Old CPU" not in merged
    # a section tagged without a machine takes the previous header's, in its tag too, so a later merge keeps it
    header = "# Benchmarks\n\nProduced by `python -m bench` (commit ddd) in 2 min on: Newer CPU, x.\n\n"
    again = "\n".join(_merged(header + merged, {"clip": "<!-- bench section clip, commit eee, on Newer CPU -->\n"
                                         "## Whole clip: wall time and quality, side by side\n\nnewer\n"}))
    assert "<!-- bench section stability, commit ccc3333, on New CPU -->" in again
    assert "*Earlier run: measured at commit ccc3333 on New CPU, not re-run" in again
    untagged = "\n".join(_merged(previous, {}))
    assert "<!-- bench section stability, commit bbb2222, on Old CPU -->" in untagged
    assert "*Earlier run: measured at commit bbb2222 on Old CPU, not re-run" in untagged
