"""How hard are the mini targets? Issue 17, item 4: the share of broad-space NAdamW points
that reach each target at horizon 1/3, beside the NAdamW-list paper's Table 4.

Reads the finished trials of ``specs/hardness_mini.toml`` (train them first with
``hpbench run specs/hardness_mini.toml``) and prints, per workload, how many points reach
the suite's target, which learning rates they have, and Table 4's count of 200
(``../shared/REFERENCE.md``). ``python -m benchmarks.bench_hardness [SPEC] [--results DIR]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import hpbench
from hpbench.scoring import score_trial

ROOT = Path(__file__).resolve().parent.parent
ENDED = ("done", "diverged", "failed")  # trials still running or interrupted are not counted
#: NAdamW-list paper, Table 4: of its 200 broad-space points, how many reach each target.
TABLE_4 = {
    "criteo": 24,
    "fastmri": 8,
    "imagenet_resnet": 2,
    "imagenet_vit": 17,
    "librispeech_conformer": 6,
    "librispeech_deepspeech": 23,
    "ogbg": 9,
    "wmt": 7,
}


def hardness(spec: Path, results: Path) -> list[dict]:
    """Per workload: points trained, points reaching the target, their learning rates."""
    plan = hpbench.plan(spec)
    finished = hpbench.Results(results).of(plan)
    rows = []
    for workload in sorted({t.workload for t in plan.trials}):
        trials = [t for t in plan.trials if t.workload == workload]
        done = [t for t in trials if t.id in finished and finished[t.id].status.state in ENDED]
        reached = [t for t in done if score_trial(finished[t.id], t.id).outcome == "reached"]
        rows.append(
            {
                "workload": workload,
                "planned": len(trials),
                "trained": len(done),
                "reached": len(reached),
                "learning_rates": sorted(dict(t.hyperparameters)["learning_rate"] for t in reached),
                "table_4": TABLE_4.get(workload),
            }
        )
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| workload | points trained | reach the target | share | Table 4 (of 200) "
        "| Table 4 share | ratio | learning rates that reach it |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        share = r["reached"] / r["trained"] if r["trained"] else float("nan")
        paper = r["table_4"] / 200 if r["table_4"] is not None else float("nan")
        ratio = share / paper if paper else float("nan")
        rates = ", ".join(f"{lr:.2g}" for lr in r["learning_rates"]) or "none"
        lines.append(
            f"| {r['workload']} | {r['trained']} | {r['reached']} | {share:.0%} | "
            f"{r['table_4']} | {paper:.1%} | {ratio:.1f}x | {rates} |"
        )
    total = sum(r["reached"] for r in rows), sum(r["trained"] for r in rows)
    lines.append(
        f"\nAll workloads: {total[0]} of {total[1]} trials reach their target "
        f"({total[0] / max(total[1], 1):.1%}; Table 4: 96 of 1,600, 6.0%)."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(ROOT / "specs" / "hardness_mini.toml"))
    parser.add_argument("--results", default="results")
    args = parser.parse_args(argv)
    print(markdown(hardness(Path(args.spec), Path(args.results))))


if __name__ == "__main__":
    main()
