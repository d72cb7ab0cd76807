"""The two papers' findings and numbers that hpbench's figures are set beside
(``reports/findings.md``, the hardness table of ``reports/targets_graded.md``).

The one place in code for them; each cites where it stands in the paper (the text is in
``../shared/seeds/``, the numbers restored in ``../shared/REFERENCE.md``, sections 5 and 8).
"""

from __future__ import annotations

import math
import statistics

import attrs

from hpbench.direction import sign

LR_FREE = "How far away are truly hyperparameter-free learning algorithms? (lr-free paper)"
NADAMW_LIST = "Training neural networks faster with minimal tuning using pre-computed lists of hyperparameters for NAdamW (NAdamW-list paper)"  # noqa: E501


@attrs.frozen
class Finding:
    """One finding as its paper states it, with the paper's number and where both stand."""

    key: str
    paper: str
    source: str  # section / table of the paper
    statement: str  # the finding in the paper's words (quoted or closely paraphrased)
    number: str  # the paper's number, in words


NAIVE_LR_FREE = Finding(
    key="naive_lr_free",
    paper=LR_FREE,
    source="Section 4.1, Table 4",
    statement=(
        "All of the naive learning-rate-free algorithms (Optax/authors' defaults, no weight "
        "decay, no schedule) performed poorly; only one algorithm reached any of the "
        "AlgoPerf targets, which it did for just a single workload."
    ),
    number="1 target of 8, on 1 workload, by 1 of 11 naive methods",
)

CALIBRATED_TRAIN = Finding(
    key="calibrated_train",
    paper=LR_FREE,
    source="Section 5.1, Table 6",
    statement=(
        "AlgoPerf-calibrated versions of Mechanic and Prodigy can train workloads "
        "successfully at multiple training horizons."
    ),
    number=(
        "horizon 50%: Mechanic (Adam) 4/8 targets (score 0.434), Prodigy 4/8 (0.455); "
        "the most of any calibrated candidate 5/8 (Prodigy 66%)"
    ),
)

CALIBRATION_HELPS = Finding(
    key="calibration_helps",
    paper=LR_FREE,
    source="Sections 4.1 and 5.1 (Tables 4 and 6)",
    statement=(
        "Our calibration procedure greatly improved validation metrics: calibrated Mechanic "
        "and Prodigy reach targets their naive (default) versions do not."
    ),
    number=(
        "naive Mechanic and Prodigy: at most 1 target between all naive methods; "
        "calibrated: 4/8 each"
    ),
)

NOT_BETTER_THAN_BASELINES = Finding(
    key="not_better_than_baselines",
    paper=LR_FREE,
    source="Section 5.1, Table 6",
    statement=(
        "Prodigy and Mechanic are not demonstrably better than AdamW and NAdamW at identical "
        "offline tuning budgets (same search points and horizons)."
    ),
    number=(
        "benchmark scores: AdamW 33% 0.498, NAdamW 66% 0.480, Prodigy 66% 0.477, Mechanic 33% 0.469"
    ),
)

BEST_METRICS_LR_FREE = Finding(
    key="best_metrics_lr_free",
    paper=LR_FREE,
    source="Section 5.1, Table 5",
    statement=(
        "The best validation metrics on ImageNet and LibriSpeech DeepSpeech come from "
        "learning-rate-free methods (calibrated)."
    ),
    number=(
        "ResNet 0.223 error (Prodigy 50%/66%), ViT 0.208 (Prodigy 66%), "
        "DeepSpeech 0.103 WER (Prodigy 66%)"
    ),
)

LIST_LOO = Finding(
    key="list_leave_one_out",
    paper=NADAMW_LIST,
    source="Section 5, Table 5",
    statement=(
        "A greedy 5-point NAdamW list built leave-one-workload-out trains most held-out "
        "workloads, and beats 5 random broad-space points and a learning-rate sweep."
    ),
    number="held-out step fractions 0.739, 0.130, 0.940, 0.930, 0.83, 0.79, 0.54, inf: 7/8",
)

PUBLISHED_LIST = Finding(
    key="published_list",
    paper=NADAMW_LIST,
    source="Tables 9 and 10",
    statement="The published 5-point list (Table 10) trains the base workloads.",
    number="step fractions 0.759, inf, 0.950, 0.810, 0.82, 0.79, 0.58, 0.660: 7/8 (U-Net missed)",
)

#: Every finding, in the order reports/findings.md gives them.
FINDINGS = (
    NAIVE_LR_FREE,
    CALIBRATED_TRAIN,
    CALIBRATION_HELPS,
    NOT_BETTER_THAN_BASELINES,
    BEST_METRICS_LR_FREE,
    LIST_LOO,
    PUBLISHED_LIST,
)

#: The lr-free paper, Section 4.1: targets reached by all naive lr-free methods together.
NAIVE_TARGETS_ALL_METHODS = 1
#: The lr-free paper, Table 6: targets reached by the calibrated candidates at horizon 50%
#: (the horizon the mini calibration used), and the most any calibrated candidate reached.
CALIBRATED_TARGETS_50 = {"mechanic": 4, "prodigy": 4}
CALIBRATED_TARGETS_MAX = 5
#: The lr-free paper, Table 6: per algorithm its best representative's horizon and benchmark
#: score (every algorithm-horizon representative scored together), best first.
TABLE_6_BEST = {
    "AdamW": (0.33, 0.498),
    "NAdamW": (0.66, 0.480),
    "Prodigy": (0.66, 0.477),
    "Mechanic (Adam)": (0.33, 0.469),
}
#: The lr-free paper, Table 5: the workloads whose best validation metric comes from a
#: learning-rate-free method (calibrated Prodigy) rather than AdamW or NAdamW.
LR_FREE_BEST_WORKLOADS = ("imagenet_resnet", "imagenet_vit", "librispeech_deepspeech")
#: The NAdamW-list paper, Table 4: of its 200 broad-space points, how many reach each
#: target (the hardness that ``benchmarks/bench_hardness.py`` sets the mini targets beside).
TABLE_4_REACHING = {
    "criteo": 24,
    "fastmri": 8,
    "imagenet_resnet": 2,
    "imagenet_vit": 17,
    "librispeech_conformer": 6,
    "librispeech_deepspeech": 23,
    "ogbg": 9,
    "wmt": 7,
}
#: Table 4's second and third columns: of the points reaching a workload's target, how many
#: also reach the target of at least one, and of at least two, other base workloads.
TABLE_4_ALSO_REACHING = {
    "criteo": (14, 4),
    "fastmri": (3, 1),
    "imagenet_resnet": (2, 2),
    "imagenet_vit": (10, 4),
    "librispeech_conformer": (6, 4),
    "librispeech_deepspeech": (19, 8),
    "ogbg": (6, 2),
    "wmt": (6, 1),
}
#: How many broad-space points Table 4 counts over.
TABLE_4_POINTS = 200
#: The NAdamW-list paper, Table 9: the published list's step fractions on the base workloads.
TABLE_9 = {
    "criteo": 0.75886,
    "fastmri": math.inf,
    "imagenet_resnet": 0.949664,
    "imagenet_vit": 0.809714,
    "librispeech_conformer": 0.82,
    "librispeech_deepspeech": 0.79,
    "ogbg": 0.58,
    "wmt": 0.659837,
}
#: The NAdamW-list paper, Table 5: step fractions on the base workloads (held out for the
#: leave-one-out lists; the learning-rate sweeps' 5 points log-spaced in [1e-4, 1e-2]).
TABLE_5 = {
    "leave-one-out lists": (0.73889, 0.12968, 0.93967, 0.92967, 0.83, 0.79, 0.54, math.inf),
    "LR sweep (WD 0.5)": (0.83874, *(math.inf,) * 5, 0.72, math.inf),
    "LR sweep (WD 1e-4)": (0.71892, *(math.inf,) * 6, 0.69983),
}
#: The workload order of TABLE_5's rows (and Table 9's).
TABLE_5_WORKLOADS = tuple(TABLE_9)
#: The lr-free paper, Table 2: the AlgoPerf validation targets it scored against (metric,
#: direction, value), in TABLE_5_WORKLOADS order.
TABLE_2_TARGETS = {
    "criteo": ("cross_entropy", "min", 0.1236),
    "fastmri": ("ssim", "max", 0.724),
    "imagenet_resnet": ("error_rate", "min", 0.226),
    "imagenet_vit": ("error_rate", "min", 0.227),
    "librispeech_conformer": ("wer", "min", 0.086),
    "librispeech_deepspeech": ("wer", "min", 0.120),
    "ogbg": ("map", "max", 0.281),
    "wmt": ("bleu", "max", 30.85),
}
#: The lr-free paper, Table 4: each naive learning-rate-free method's best validation metric
#: over the whole budget (defaults, no weight decay, no schedule), in TABLE_5_WORKLOADS order.
#: Set beside the mini naive arms' best metrics to ask whether a mini target is as far out of
#: an untuned method's reach as a full-size one (``benchmarks/bench_hardness.py``).
TABLE_4_NAIVE_BEST = {
    "COCOB": (0.1238, 0.719, 0.305, 0.274, 0.172, 0.149, 0.234, 26.67),
    "D-Adapt (w. Adam)": (0.1236, 0.722, 0.314, 0.251, 0.095, 0.135, 0.221, 28.63),
    "DoG": (0.1334, 0.714, 0.317, 0.275, 0.467, 0.226, 0.231, 26.34),
    "DoWG": (0.1259, 0.715, 0.389, 0.998, 0.844, 0.839, 0.205, 0.00),
    "Mechanic (w. Adam)": (0.1240, 0.722, 0.321, 0.249, 0.098, 0.124, 0.235, 1.82),
    "Mechanic (w. Nadam)": (0.1241, 0.721, 0.318, 0.248, 0.099, 0.123, 0.239, 4.50),
    "Mechanic": (0.1361, 0.714, 0.301, 0.263, 0.183, 0.209, 0.045, 11.94),
    "MoMo": (0.1254, 0.716, 0.313, 0.268, 0.116, 0.154, 0.236, 25.78),
    "MoMo (w. Adam)": (0.1240, 0.723, 0.313, 0.999, 0.368, 0.454, 0.221, 0.99),
    "Prodigy": (0.1241, 0.723, 0.317, 0.251, 0.098, 0.149, 0.212, 0.57),
}

#: The Table 4 row of each naive method hpbench runs (by hpbench's algorithm name): the same
#: method with the same base (Mechanic and MoMo on Adam, D-Adapt's Adam version). Table 4 has
#: no Schedule-Free AdamW, and naive Adam is hpbench's reference line, not a Table 4 method.
TABLE_4_COUNTERPART = {
    "mechanic": "Mechanic (w. Adam)",
    "prodigy": "Prodigy",
    "dadapt_adamw": "D-Adapt (w. Adam)",
    "dog": "DoG",
    "momo_adam": "MoMo (w. Adam)",
}

#: The lr-free paper, Table 4: its NAdamW baseline (evidence-based defaults, one configuration
#: for every workload) over the whole budget, in TABLE_5_WORKLOADS order: how far past its
#: target a well-configured NAdamW gets with 4x the target-setting budget at full size.
TABLE_4_NADAMW = (0.1235, 0.723, 0.226, 0.214, 0.079, 0.109, 0.253, 30.07)


def relative_miss(value: float, direction: str, target: float) -> float:
    """How far ``value`` falls short of ``target``, as a share of the target (negative: it
    passes the target by that share): the scale-free distance set beside Table 4's."""
    return sign(direction) * (value - target) / abs(target)


def table_4_misses(row: tuple[float, ...]) -> dict[str, float]:
    """Per workload, the relative miss of the Table 2 target by a Table 4 row (its best
    metrics in TABLE_5_WORKLOADS order)."""
    return {
        workload: relative_miss(value, direction, target)
        for (workload, (_, direction, target)), value in zip(
            TABLE_2_TARGETS.items(), row, strict=True
        )
    }


def table_4_naive_miss() -> dict[str, float]:
    """Per workload, the median over Table 4's naive methods of their relative miss of the
    Table 2 target (the full-size reference for a mini naive arm's miss)."""
    rows = [table_4_misses(row) for row in TABLE_4_NAIVE_BEST.values()]
    return {w: statistics.median(r[w] for r in rows) for w in TABLE_2_TARGETS}
