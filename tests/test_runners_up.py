"""benchmarks/runners_up.py: a point's median, spread and seeds reaching, spread / gap against
an untuned arm, and the per-workload summary, worked by hand."""

from __future__ import annotations

import pytest

from benchmarks.runners_up import Point, markdown, summary_markdown
from hpbench.plan import Target

WER = Target("wer", 0.25, "min")
MAP = Target("map", 0.80, "max")


def point(rank: int, bests: tuple[float, ...], target: Target = WER, workload: str = "ds") -> Point:
    return Point(
        workload=workload, rank=rank, learning_rate=1e-3 * rank, target=target, bests=bests
    )


def test_a_points_median_spread_and_seeds_reaching():
    p = point(1, (0.20, 0.27, 0.245, 0.236, 0.277))
    assert p.median == pytest.approx(0.245)
    assert p.spread == pytest.approx(0.077)
    assert p.reaching == 3  # 0.20, 0.245, 0.236 <= 0.25
    assert point(1, (0.79, 0.81, 0.80), MAP).reaching == 2  # higher is better


def test_spread_over_gap_uses_the_points_own_median_and_the_naive_median():
    # median 0.245, spread 0.077; naive median 0.30: gap 0.055, ratio 1.4
    text = markdown([point(1, (0.20, 0.27, 0.245, 0.236, 0.277))], {"ds": [0.28, 0.30, 0.33]})
    row = text.splitlines()[2]
    assert "| 0.245 | 0.077 | 3/5 | 0.3 | 1.40 |" in row
    # no untuned arm for the workload: dashes, not a number
    assert markdown([point(1, (0.2, 0.3))], {}).splitlines()[2].endswith("| - | - |")


def test_the_summary_sets_the_winner_beside_its_runners_up():
    rows = [
        point(1, (0.20, 0.24, 0.25)),  # median 0.24, spread 0.05
        point(2, (0.22, 0.30, 0.26)),  # median 0.26, spread 0.08
        point(3, (0.25, 0.27, 0.255)),  # median 0.255, spread 0.02
        point(4, (0.21, 0.40, 0.28)),  # median 0.28, spread 0.19
    ]
    line = summary_markdown(rows).splitlines()[2]
    # runners-up spreads 0.08, 0.02, 0.19: median 0.08; the best runner-up median 0.255 (rank 3)
    assert line == "| ds | 0.25 | 0.24, 0.05 | 0.08 (0.02-0.19) | 0.255 (3) |"
