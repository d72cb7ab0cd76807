"""The min/max conventions every table, plot and search shares (hpbench.direction)."""

import math

import pytest

from hpbench.direction import DIRECTIONS, beats, best_of, sign, words, worst
from hpbench.plan import Target


@pytest.mark.parametrize(
    ("direction", "values", "best", "lower_better"),
    [
        ("min", [0.3, 0.1, 0.2], 0.1, [0.3, 0.1, 0.2]),
        ("max", [0.3, 0.1, 0.2], 0.3, [-0.3, -0.1, -0.2]),
    ],
)
def test_sign_and_best_agree(direction, values, best, lower_better):
    assert best_of(direction)(values) == best
    assert [sign(direction) * v for v in values] == lower_better
    assert min(values, key=lambda v: sign(direction) * v) == best


def test_worst_loses_to_every_finite_value():
    for direction in DIRECTIONS:
        assert beats(0.0, worst(direction), direction)
        assert not beats(worst(direction), 0.0, direction)
    assert worst("min") == math.inf and worst("max") == -math.inf


def test_beats_is_strict_and_nan_never_beats():
    assert beats(0.1, 0.2, "min") and beats(0.2, 0.1, "max")
    assert not beats(0.2, 0.2, "min") and not beats(0.2, 0.2, "max")
    for direction in DIRECTIONS:
        assert not beats(math.nan, 0.2, direction) and not beats(0.2, math.nan, direction)


def test_words():
    assert words("min") == "lower is better" and words("max") == "higher is better"


def test_target_reaches_and_falls_short_in_its_direction():
    wer, ssim = Target("wer", 0.1678, "min"), Target("ssim", 0.8198, "max")
    assert wer.reached(0.1678) and wer.reached(0.15) and not wer.reached(0.17)
    assert ssim.reached(0.8198) and ssim.reached(0.83) and not ssim.reached(0.81)
    assert not wer.reached(math.nan) and not ssim.reached(math.nan)
    assert wer.shortfall(0.2) == pytest.approx(0.0322) and ssim.shortfall(0.8) == pytest.approx(
        0.0198
    )
    assert wer.shortfall(0.1) < 0 < ssim.shortfall(0.5)
    assert wer.best([0.2, math.nan, 0.18]) == 0.18 and ssim.best([0.7, 0.81]) == 0.81
    assert math.isnan(wer.best([math.nan]))
