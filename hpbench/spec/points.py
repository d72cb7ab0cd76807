"""The points of a search: a deterministic function of (space, method, count, seed).

Each point is a dict of trial values (hyperparameters and ``warmup``) that the spec
compiler turns into ordinary trials, so a search extended from 100 to 200 points shares
its first 100 trials (and their results) with the shorter one.
"""

from __future__ import annotations

from hpbench.plan import Scalar
from hpbench.spec.sequences import grid_indices, halton, uniform_random
from hpbench.spec.settings import Search


def search_points(search: Search, learning_rate_free: bool = False) -> list[dict[str, Scalar]]:
    """The points of ``search`` for an algorithm (learning-rate-free ones skip the
    ``baselines_only`` dimensions; every dimension keeps its sequence coordinate, so two
    algorithms get the same values on the dimensions they share)."""
    space = search.space
    active = space.active(learning_rate_free)
    if search.method == "grid":
        axes = [space.dimensions[i].grid(search.resolution) for i in active]
        targets = [space.dimensions[i].target for i in active]
        return [
            {t: axis[j] for t, axis, j in zip(targets, axes, combo, strict=True)}
            for combo in grid_indices([len(a) for a in axes])
        ]
    draw = halton if search.method == "halton" else uniform_random
    unit = draw(search.points, len(space.dimensions), search.seed)
    return [space.point(row, active) for row in unit]
