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
