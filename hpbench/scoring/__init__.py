"""Scoring: time to target, performance profiles, the AlgoPerf benchmark score, list costs.

Pure numpy functions of trial results; no JAX import.
"""

from hpbench.scoring.lists import (
    HeldOut,
    best_subset,
    greedy_list,
    leave_one_workload_out,
    list_cost,
    prefix_costs,
    speedup,
    top_points,
)
from hpbench.scoring.profiles import Profile, performance_profile
from hpbench.scoring.scores import ScoreRow, Scores, default_labels, score_results
from hpbench.scoring.table import scores_table
from hpbench.scoring.time_to_target import (
    OUTCOMES,
    TrialScore,
    median_over_seeds,
    runtime_budget,
    score_trial,
)

__all__ = [
    "OUTCOMES",
    "HeldOut",
    "Profile",
    "ScoreRow",
    "Scores",
    "TrialScore",
    "best_subset",
    "default_labels",
    "greedy_list",
    "leave_one_workload_out",
    "list_cost",
    "median_over_seeds",
    "performance_profile",
    "prefix_costs",
    "runtime_budget",
    "score_results",
    "score_trial",
    "scores_table",
    "speedup",
    "top_points",
]
