"""The engine on an accelerator: overhead on full-size models, packing, a whole search, checkpoints.

``python -m benchmarks accelerator [--out DIR]`` writes ``accelerator.json`` and
``accelerator.md`` into DIR (default ``benchmarks/.out/accelerator``), rewritten after every
measurement, so a run stopped by a timeout still leaves what it measured. Four sections,
each with its goal (issue 23) and a share of the time budget (``--budget`` seconds, 480 by
default; time a section leaves goes to the next): an item not started within its section's
share is listed as skipped, but each section's first item always runs. Each section runs
in a process of its own, stopped 45 s past its share: JAX takes most of the device memory
at start, so each gets the whole device, and a crash loses only its own section.

1. ``checkpoint``: one asynchronous Orbax save of full-size ResNet-50's training state:
   the time training waits for it over a 10-minute cadence (first: its program is the
   engine section's first).
2. ``engine``: ``run_job`` (as a real run drives it: one trial, 16 steps fused per
   dispatch, training seconds as the engine records them) against a hand-written
   flax/optax loop (one jitted step per batch) on the full-size models, with synthetic
   batches of the real shapes (:mod:`benchmarks.synthetic_full`); model FLOP utilisation
   from XLA's cost analysis of one step over the device's peak (:data:`PEAK_TFLOPS`).
3. ``packing``: K members in one engine program on each mini workload, point-steps/s
   against K = 1, XLA's memory per member, and the pack size the engine picks itself.
4. ``search``: a broad-space NAdamW search on the 8 mini workloads, one ``hpbench run``
   per workload with the engine's own packs: wall time, points/hour, and the papers'
   200 points x 3 horizons projected linearly.

``--tiny`` (the default where JAX finds no accelerator) runs every section at mini sizes in
about a minute on CPU: a smoke check that keeps the command working, not a figure.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import MINI_SUITE, parser

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / ".out" / "accelerator"

#: Dense peak TFLOP/s by device kind (vendors' datasheets; the SXM parts): bf16, tf32 and
#: plain fp32. JAX computes float32 matrix products in TF32 on NVIDIA GPUs and in bf16
#: passes on TPUs by default, so a float32 model's utilisation is taken against "tf32" on
#: NVIDIA and "bf16" on TPU (:func:`peak_for`).
PEAK_TFLOPS = {
    "H200": {"bf16": 989.0, "tf32": 494.7, "fp32": 66.9},
    "H100": {"bf16": 989.0, "tf32": 494.7, "fp32": 66.9},
    "A100": {"bf16": 312.0, "tf32": 156.0, "fp32": 19.5},
    "TPU v4": {"bf16": 275.0},
    "TPU v5 lite": {"bf16": 197.0},
    "TPU v5p": {"bf16": 459.0},
    "TPU v6 lite": {"bf16": 918.0},
}

FULL_MODELS = ("imagenet_resnet", "imagenet_vit", "wmt", "criteo", "librispeech_conformer")
#: The papers' horizons (lr-free calibration paper: 33%, 50% and 66% of max_steps).
PAPER_HORIZONS = (0.33, 0.5, 0.66)
PAPER_POINTS = 200
CHECKPOINT_CADENCE_S = 600.0


def settings(tiny: bool) -> dict[str, Any]:
    """Sizes and each section's share of the budget, full or tiny."""
    if tiny:
        return {
            "checkpoint": {"share": 0.1, "workload": "toy_mlp", "size": "mini", "steps": 32},
            "engine": {"share": 0.3, "size": "mini", "workloads": ("toy_mlp",), "steps": 32},
            "packing": {"share": 0.25, "workloads": ("toy_mlp",), "ks": (1, 2, 4)},
            "search": {"share": 0.35, "workloads": ("toy_mlp",), "points": 4, "horizon": 0.1},
            "min_seconds": 0.2,  # timed per packing measure
            "reserve_s": 3.0,
            "first_run_s": 300.0,  # the least time a section's first search run gets
        }
    return {
        "checkpoint": {"share": 0.06, "workload": "imagenet_resnet", "size": "full", "steps": 64},
        "engine": {"share": 0.42, "size": "full", "workloads": FULL_MODELS, "steps": 64},
        "packing": {"share": 0.24, "workloads": MINI_SUITE, "ks": (1, 8, 32, 128)},
        "search": {"share": 0.28, "workloads": MINI_SUITE, "points": 64, "horizon": 0.05},
        "min_seconds": 1.0,
        "reserve_s": 15.0,
        "first_run_s": 150.0,
    }


# --- the report ---------------------------------------------------------------------------


class Report:
    """The results so far, written to ``accelerator.json`` (and ``accelerator.md`` with
    ``markdown``) on every change, each file replaced whole."""

    def __init__(self, out: Path, header: dict[str, Any], markdown: bool = True):
        self.out = out
        self.data = {**header, "sections": {}}
        self.markdown = markdown
        self.started = time.perf_counter()
        out.mkdir(parents=True, exist_ok=True)

    def section(self, name: str, goal: str, budget_s: float) -> dict[str, Any]:
        entry = {"goal": goal, "met": None, "budget_s": round(budget_s), "rows": [], "skipped": []}
        self.data["sections"][name] = entry
        self.write()
        return entry

    def add(self, section: dict[str, Any], row: dict[str, Any]) -> None:
        """Append ``row`` to ``section``, print it (the run's log) and write."""
        section["rows"].append(row)
        print(json.dumps(row), flush=True)
        self.write()

    def write(self) -> None:
        self.data["elapsed_s"] = round(time.perf_counter() - self.started, 1)
        _replace(self.out / "accelerator.json", json.dumps(self.data, indent=1) + "\n")
        if self.markdown:
            _replace(self.out / "accelerator.md", render_markdown(self.data))


def _replace(path: Path, text: str) -> None:
    """Write ``path`` whole (a reader never sees half a file)."""
    part = path.with_name(path.name + ".part")
    part.write_text(text)
    os.replace(part, path)


def render_markdown(data: dict[str, Any]) -> str:
    """Every section as a table, with its goal and whether it is met."""
    device = data["device"]
    lines = [
        f"# Accelerator benchmark ({data['mode']})",
        "",
        f"{data['date']}: {device.get('count')} x {device.get('kind')} "
        f"({device.get('platform')}), "
        f"jax {data['jax']}, jaxlib {data['jaxlib']}, Python {data['python']}; "
        f"{data['elapsed_s']} s of a {data['budget_s']} s budget.",
    ]
    if data["mode"] == "tiny":
        lines += ["", "Tiny mode: mini sizes, a smoke check of the command, not a figure."]
    for name, section in data["sections"].items():
        verdict = {True: "met", False: "**not met**", None: "not measured"}[section["met"]]
        lines += ["", f"## {name}", "", f"Goal: {section['goal']}: {verdict}."]
        if section.get("summary"):
            lines += ["", section["summary"]]
        rows = section["rows"]
        if rows:
            columns = list(dict.fromkeys(key for row in rows for key in row))
            lines += ["", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            for row in rows:
                lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
        for skipped in section["skipped"]:
            lines.append(f"- skipped: {skipped}")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class Budget:
    """A section's deadline: ``left()`` seconds remain; ``reserve`` is the least time
    worth starting another item in."""

    def __init__(self, deadline: float, reserve: float):
        self.deadline = deadline
        self.reserve = reserve

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def out(self) -> bool:
        """Too little time left to start another item (a section's first always starts:
        every section measures something)."""
        return self.left() < self.reserve


def verdict(values: list[float], expected: int, ok: Callable[[float], bool]) -> bool | None:
    """Met when every item was measured and passes; not met when any measured one fails;
    unknown when the ones measured pass but some were not measured."""
    if not all(ok(v) for v in values):
        return False
    return True if values and len(values) == expected else None


def attempt(section: dict, report: Report, label: str, measure: Callable[[], dict]) -> bool:
    """Run one measurement into ``section``'s rows (an error becomes a row saying so)."""
    try:
        row = measure()
    except Exception as error:  # one failing model must not lose the others' figures
        row = {"item": label, "error": f"{type(error).__name__}: {error}"[:300]}
    report.add(section, row)
    return "error" not in row


# --- device facts ------------------------------------------------------------------------


def device_facts() -> dict[str, Any]:
    import jax

    device = jax.devices()[0]
    stats = _memory_stats(device)
    return {
        "platform": device.platform,
        "kind": device.device_kind,
        "count": jax.device_count(),
        "memory_bytes": stats.get("bytes_limit"),
    }


def _memory_stats(device: Any) -> dict[str, Any]:
    try:
        return device.memory_stats() or {}
    except Exception:  # CPU devices of some jaxlib versions raise instead of returning None
        return {}


def peak_for(kind: str, platform_name: str) -> tuple[str | None, float | None]:
    """The dtype a float32 model's products run in by default on ``kind``, and that dtype's
    peak FLOP/s (None where the table does not know the device)."""
    for name, peaks in PEAK_TFLOPS.items():
        if name.lower() in kind.lower():
            dtype = "bf16" if platform_name == "tpu" else "tf32"
            return dtype, peaks[dtype] * 1e12
    return None, None


def cost_flops(compiled: Any) -> float | None:
    """FLOPs of one call of a compiled program by XLA's cost analysis."""
    analysis = compiled.cost_analysis()
    if isinstance(analysis, list | tuple):
        analysis = analysis[0] if analysis else {}
    flops = (analysis or {}).get("flops")
    return float(flops) if flops else None


def memory_bytes(compiled: Any) -> int | None:
    """Device bytes a compiled program needs: arguments, outputs and temporaries (less what
    donated arguments share with outputs), by XLA's memory analysis."""
    stats = compiled.memory_analysis()
    if stats is None:
        return None
    return int(
        stats.argument_size_in_bytes
        + stats.output_size_in_bytes
        + stats.temp_size_in_bytes
        - stats.alias_size_in_bytes
    )


# --- trials -------------------------------------------------------------------------------


def make_trial(
    workload: str,
    size: str,
    steps: int,
    learning_rate: float = 1e-3,
    eval_every: int = 0,
    batch_size: int | None = None,
):
    """An AdamW trial of ``steps`` steps at ``batch_size`` (default: the workload's own for
    ``size``), with a target it never reaches."""
    from hpbench.plan import Target, Trial
    from hpbench.workloads.registry import get_workload

    info = get_workload(workload)
    return Trial(
        workload=workload,
        size=size,
        variant="base",
        algorithm="adamw",
        hyperparameters={"learning_rate": learning_rate},
        schedule="warmup_cosine",
        warmup=0.05,
        horizon=1.0,
        max_steps=steps,
        batch_size=batch_size or info.batch_size[size],
        seed=0,
        eval_every=eval_every or steps,  # one evaluation, at the end
        target=Target(info.metric, 0.0 if info.direction == "min" else 1e9, info.direction),
        data="synthetic" if size == "full" else None,
    )


def data_for(trial: Any) -> Any:
    """Synthetic full-size data while a ``full`` trial's workload is built, else nothing."""
    import contextlib

    from benchmarks.synthetic_full import synthetic_full_data

    if trial.size != "full":
        return contextlib.nullcontext()
    return synthetic_full_data(trial.workload, trial.batch_size)


# --- the engine against a hand-written loop --------------------------------------------


def engine_steps_per_s(trial: Any) -> tuple[float, float]:
    """Training steps per second of ``run_job`` on one trial, by the engine's own clock:
    between its two evaluations (steady: the executable already loaded and run once, as
    the loop is timed after warm-up steps), and over the whole run."""
    from hpbench.results.records import read_trial
    from hpbench.train import CheckpointPolicy, Job, run_job

    job = Job(trials=(trial,), checkpoint=CheckpointPolicy(every_steps=None, every_seconds=None))
    with tempfile.TemporaryDirectory() as results:
        (outcome,) = run_job(job, results)
        if outcome.state != "done":
            raise RuntimeError(f"the engine's trial ended {outcome.state}: {outcome.reason}")
        first, last = read_trial(Path(results) / trial.id).evals[-2:]
    steady = (last.step - first.step) / (last.train_seconds - first.train_seconds)
    return steady, last.step / last.train_seconds


def loop_measure(trial: Any, steps: int, budget: Budget | None = None) -> dict[str, float]:
    """A hand-written flax/optax loop on ``trial``'s model, optimizer and batches: one
    jitted step per batch, batches built on the host each step. Steps/s after compilation
    and two warm-up steps, and XLA's FLOPs of one step."""
    import jax
    import optax

    from hpbench.algorithms.build import build_optimizer
    from hpbench.schedules import relative_schedule
    from hpbench.workloads.registry import trial_workload

    workload = trial_workload(trial)
    schedule = relative_schedule(trial.schedule, trial.warmup, trial.horizon_steps)
    tx = build_optimizer(trial.algorithm, trial.params, schedule)
    params, model_state = workload.init(jax.random.key(0))
    key = jax.random.key(1)

    def step(carry, batch, index):
        params, opt_state, model_state = carry

        def loss_fn(p):
            rng = jax.random.fold_in(key, index)
            return workload.loss(p, model_state, batch, rng, dropout=0.0, label_smoothing=0.0)

        (loss, model_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = tx.update(grads, opt_state, params, value=loss)
        return optax.apply_updates(params, updates), opt_state, model_state

    donate = () if jax.default_backend() == "cpu" else (0,)
    carry = (params, tx.init(params), model_state)
    compiled = jax.jit(step, donate_argnums=donate).lower(carry, workload.batch(0, 0), 0).compile()
    for index in range(2):
        carry = compiled(carry, workload.batch(trial.seed, index), index)
    jax.block_until_ready(carry)
    started = time.perf_counter()
    done = 0
    while done < steps and (budget is None or budget.left() > 0 or done < 4):
        carry = compiled(carry, workload.batch(trial.seed, 2 + done), 2 + done)
        done += 1
    jax.block_until_ready(carry)
    return {"steps_per_s": done / (time.perf_counter() - started), "flops": cost_flops(compiled)}


def engine_section(report: Report, config: dict, budget: Budget) -> None:
    section = report.section(
        "engine",
        "hpbench's engine within 2% of a hand-written flax/optax loop on each full-size model",
        budget.left(),
    )
    facts = device_facts()
    dtype, peak_flops = peak_for(facts["kind"], facts["platform"])
    import jax

    section["peak"] = {
        "dtype": dtype,
        "flops_per_s": peak_flops,
        "jax_default_matmul_precision": jax.config.jax_default_matmul_precision,
    }
    overheads = []
    for name in config["workloads"]:
        if budget.out() and section["rows"]:
            section["skipped"].append(f"{name}: the section's budget ran out")
            continue
        trial = make_trial(name, config["size"], config["steps"], eval_every=config["steps"] // 2)

        def measure(trial=trial, name=name) -> dict:
            with data_for(trial):
                engine, whole = engine_steps_per_s(trial)
                loop = loop_measure(trial, config["steps"] // 2, budget)
            overhead = 100.0 * (loop["steps_per_s"] / engine - 1.0)
            overheads.append(overhead)
            row = {
                "workload": name,
                "size": trial.size,
                "batch": trial.batch_size,
                "engine steps/s": engine,
                "loop steps/s": loop["steps_per_s"],
                "engine steps/s, whole run": whole,
                "overhead %": overhead,
                "GFLOP/step": loop["flops"] / 1e9 if loop["flops"] else None,
            }
            if peak_flops and loop["flops"]:
                row[f"MFU engine ({dtype})"] = loop["flops"] * engine / peak_flops
                row[f"MFU loop ({dtype})"] = loop["flops"] * loop["steps_per_s"] / peak_flops
            return row

        attempt(section, report, name, measure)
    section["met"] = verdict(overheads, len(config["workloads"]), lambda o: o <= 2.0)
    report.write()


# --- packing ---------------------------------------------------------------------------


def pack_measure(name: str, k: int, min_seconds: float) -> dict[str, Any]:
    """Point-steps/s of ``k`` members (learning rates apart) in one engine program on mini
    ``name``: 16-step chunks, timed after compilation and one warm-up chunk for at least
    ``min_seconds``; XLA's memory of the chunk program per member."""
    import jax

    from hpbench.train.program import local_devices_for, member_values, program_for

    trials = [make_trial(name, "mini", 10_000, 1e-3 * 1.1**i) for i in range(k)]
    program = program_for(trials[0], k, local_devices_for(k))
    values = program.place(member_values(trials))
    count = program.steps_per_dispatch(16)
    compiled = program.compile(count).result()
    state = program.train(program.init(values), values, 0, count)
    jax.block_until_ready(state)
    started, step = time.perf_counter(), count
    while step < 2 * count or time.perf_counter() - started < min_seconds:
        state = program.train(state, values, step, count)
        step += count
        if step % (4 * count) == 0:
            jax.block_until_ready(state["loss_count"])
    jax.block_until_ready(state)
    seconds = time.perf_counter() - started
    program_bytes = memory_bytes(compiled)
    return {
        "point_steps_per_s": k * (step - count) / seconds,
        "bytes_per_member": program_bytes / k if program_bytes else None,
    }


def default_pack(name: str) -> dict[str, Any]:
    """The pack size ``hpbench run`` picks by itself for mini ``name``, and how many
    members its memory estimate would fit without the cap."""
    from hpbench.train.memory import (
        DEFAULT_MAX_PACK,
        MEMORY_SHARE,
        device_memory_bytes,
        member_bytes,
        pack_size_from_memory,
    )

    trial = make_trial(name, "mini", 100)
    estimate = member_bytes(trial)
    return {
        "engine's pack": pack_size_from_memory(trial),
        "cap": DEFAULT_MAX_PACK,
        "estimate MB/member": estimate / 1e6,
        "fits uncapped": int(MEMORY_SHARE * device_memory_bytes() // max(1, estimate)),
    }


def packing_section(report: Report, config: dict, budget: Budget, min_seconds: float) -> None:
    section = report.section(
        "packing",
        "point-steps/s of the best pack at least 8x one member's, on each mini workload",
        budget.left(),
    )
    best = []
    for name in config["workloads"]:
        if budget.out() and section["rows"]:
            section["skipped"].append(f"{name}: the section's budget ran out")
            continue
        row: dict[str, Any] = {"workload": name}
        try:
            for k in config["ks"]:
                if budget.out() and len(row) > 1:
                    section["skipped"].append(f"{name} K={k}: the section's budget ran out")
                    break
                measured = pack_measure(name, k, min_seconds)
                row[f"K={k} point-steps/s"] = measured["point_steps_per_s"]
                if measured["bytes_per_member"]:
                    row[f"K={k} MB/member"] = measured["bytes_per_member"] / 1e6
            one = row.get(f"K={config['ks'][0]} point-steps/s")
            rates = {k: row.get(f"K={k} point-steps/s") for k in config["ks"]}
            rates = {k: r for k, r in rates.items() if r}
            if one and len(rates) > 1:
                k_best = max(rates, key=rates.get)
                row["best K"], row["speed-up"] = k_best, rates[k_best] / one
                best.append(row["speed-up"])
            row.update(default_pack(name))
        except Exception as error:
            row["error"] = f"{type(error).__name__}: {error}"[:300]
        report.add(section, row)
    section["met"] = verdict(best, len(config["workloads"]), lambda s: s >= 8.0)
    report.write()


# --- a whole-suite search --------------------------------------------------------------


def search_section(report: Report, config: dict, budget: Budget, first_run_s: float) -> None:
    """One ``hpbench run`` process per workload, the engine's default packs, as a search
    runs; the rest of the section's budget is each run's timeout (the first run's at least
    ``first_run_s``)."""
    from benchmarks.bench_search import search_spec, training_seconds
    from hpbench.workloads.registry import load_workload

    points, horizon = config["points"], config["horizon"]
    projected_horizons = sum(PAPER_HORIZONS) / horizon
    section = report.section(
        "search",
        f"{PAPER_POINTS} points x {len(PAPER_HORIZONS)} horizons {PAPER_HORIZONS} on the 8 "
        "mini workloads within 1 hour (projected linearly from the measured search)",
        budget.left(),
    )
    walls = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in config["workloads"]:
            load_workload(name, "mini")  # generate and cache its data off the clock
            if budget.out() and section["rows"]:
                section["skipped"].append(f"{name}: the section's budget ran out")
                continue
            spec = search_spec(name, points, horizon, Path(tmp))
            results = Path(tmp) / f"results_{name}"
            command = [sys.executable, "-m", "hpbench.cli", "run", str(spec), "--quiet"]
            started = time.perf_counter()
            try:
                done = subprocess.run(
                    [*command, "--results", str(results)],
                    check=False,
                    capture_output=True,
                    text=True,
                    timeout=budget.left() if section["rows"] else max(budget.left(), first_run_s),
                )
            except subprocess.TimeoutExpired:
                section["skipped"].append(f"{name}: stopped at the section's budget")
                continue
            wall = time.perf_counter() - started
            if done.returncode != 0:
                tail = done.stderr.strip().splitlines()[-3:]
                error = f"hpbench run exited {done.returncode}: {' / '.join(tail)}"
                report.add(section, {"workload": name, "error": error[:300]})
            else:
                walls[name] = wall
                report.add(
                    section,
                    {
                        "workload": name,
                        "points": points,
                        "horizon": horizon,
                        "wall s": wall,
                        "training s": training_seconds(results),
                    },
                )
    if walls:
        total = sum(walls.values())
        complete = len(walls) == len(config["workloads"])
        hours = total * PAPER_POINTS / points * projected_horizons / 3600
        section["points_per_hour"] = points / total * 3600
        section["projected_hours"] = hours
        section["summary"] = (
            f"{points} points on {len(walls)} of {len(config['workloads'])} workloads at "
            f"horizon {horizon}: {total:.1f} s, {points / total * 3600:.0f} points/hour; "
            f"projected {PAPER_POINTS} points x horizons {PAPER_HORIZONS}: {hours:.2f} h"
            + ("" if complete else " (partial: only the workloads measured)")
            + ". Linear in points and horizon: start-up and compilation, paid once per "
            "workload, are counted again for every point, so this over-estimates."
        )
        section["met"] = verdict([hours], 1, lambda h: h <= 1.0) if complete else None
    report.write()


# --- checkpoint cost -------------------------------------------------------------------


def checkpoint_section(report: Report, config: dict, budget: Budget) -> None:
    """One save of ResNet-50's training state (parameters, AdamW state, BatchNorm
    statistics) as the engine saves it: the call training waits for (the arrays copied off
    the device), and the background commit to disk."""
    import jax

    from hpbench.train.checkpoint import JobCheckpoints
    from hpbench.train.program import local_devices_for, member_values, program_for

    section = report.section(
        "checkpoint",
        "an asynchronous save every 10 minutes costs training at most 1% (full ResNet-50)",
        budget.left(),
    )

    def measure() -> dict:
        steps = config["steps"]
        trial = make_trial(config["workload"], config["size"], steps, eval_every=steps // 2)
        with data_for(trial):
            program = program_for(trial, 1, local_devices_for(1))
        values = program.place(member_values([trial]))
        state = jax.block_until_ready(program.init(values))
        state_bytes = sum(x.nbytes for x in jax.tree.leaves(state))
        with tempfile.TemporaryDirectory() as tmp:
            checkpoints = JobCheckpoints(
                Path(tmp) / "job", 2, program.abstract_state, program.state_shardings
            )
            try:
                rows = []
                for step in (1, 2):  # the first save also creates Orbax's directories
                    started = time.perf_counter()
                    checkpoints.save(step, state, {"step": step})
                    blocking = time.perf_counter() - started
                    checkpoints.wait()
                    rows.append((blocking, time.perf_counter() - started))
            finally:
                checkpoints.close()
        blocking, total = rows[-1]
        section["met"] = blocking / CHECKPOINT_CADENCE_S <= 0.01
        return {
            "workload": f"{config['workload']} ({config['size']})",
            "state MB": state_bytes / 1e6,
            "blocking s": blocking,
            "committed s": total,
            "first save blocking s": rows[0][0],
            "cost at 10 min %": 100 * blocking / CHECKPOINT_CADENCE_S,
            "cost if commit blocked %": 100 * total / CHECKPOINT_CADENCE_S,
        }

    attempt(section, report, config["workload"], measure)


# --- the command --------------------------------------------------------------------------

#: In order: the checkpoint's ResNet-50 program is the engine's first (compiled once).
SECTIONS = ("checkpoint", "engine", "packing", "search")
RUNNERS: dict[str, Callable[[Report, dict, Budget], None]] = {
    "checkpoint": lambda report, config, budget: checkpoint_section(
        report, config["checkpoint"], budget
    ),
    "engine": lambda report, config, budget: engine_section(report, config["engine"], budget),
    "packing": lambda report, config, budget: packing_section(
        report, config["packing"], budget, config["min_seconds"]
    ),
    "search": lambda report, config, budget: search_section(
        report, config["search"], budget, config["first_run_s"]
    ),
}
#: Sections that train full-size models (ResNet-50 at batch 1024 needs most of an 80-141 GB
#: device): JAX may take 95% of the device memory instead of its default 75% (the section
#: runs alone), unless the user set the fraction. The others keep JAX's default, which the
#: engine's own pack size is computed from.
FULL_SIZE_SECTIONS = ("checkpoint", "engine")
MEMORY_FRACTION = "XLA_PYTHON_CLIENT_MEM_FRACTION"
#: Seconds a section's process may run past its share before it is stopped.
GRACE_S = {"full": 45.0, "tiny": 400.0}


def run_section(name: str, out: Path, tiny: bool, budget_s: float) -> None:
    """One section in this process (``--child``), its JSON in ``out``."""
    config = settings(tiny)
    report = Report(out, {}, markdown=False)
    RUNNERS[name](report, config, Budget(time.perf_counter() + budget_s, config["reserve_s"]))
    if name != "search":  # the search's own process leaves the device to its runs
        import jax

        stats = _memory_stats(jax.devices()[0])
        report.data["sections"][name]["device_memory"] = {
            "bytes_limit": stats.get("bytes_limit"),
            "peak_bytes_in_use": stats.get("peak_bytes_in_use"),
            MEMORY_FRACTION: os.environ.get(MEMORY_FRACTION),
        }
    report.write()


def spawn_section(report: Report, name: str, tiny: bool, deadline: float, grace: float) -> None:
    """Run section ``name`` in a fresh process until ``deadline`` (plus ``grace``, then it
    is stopped), copying its figures into ``report`` as they come. A process per section
    gives each the whole device memory (JAX takes most of it at start), keeps a crash in
    one from losing the others, and lets the search's runs have the device alone."""
    with tempfile.TemporaryDirectory(prefix=f"accelerator-{name}-") as tmp:
        command = [sys.executable, "-m", "benchmarks.bench_accelerator", "--child", name]
        command += ["--out", tmp, "--budget", f"{max(1.0, deadline - time.perf_counter()):.1f}"]
        environ = dict(os.environ)
        if name in FULL_SIZE_SECTIONS:  # alone on the device: let JAX take nearly all of it
            environ.setdefault(MEMORY_FRACTION, "0.95")
        process = subprocess.Popen(command + ["--tiny"] * tiny, cwd=ROOT, env=environ)
        stopped = False
        while True:
            try:
                process.wait(timeout=2)
                break
            except subprocess.TimeoutExpired:
                _merge(report, name, Path(tmp))
                if time.perf_counter() > deadline + grace and not stopped:
                    process.kill()
                    stopped = True
        _merge(report, name, Path(tmp))
    if process.returncode != 0:
        section = report.data["sections"].setdefault(
            name, {"goal": "", "met": None, "rows": [], "skipped": []}
        )
        reason = "stopped past its budget" if stopped else f"exited {process.returncode}"
        section["skipped"].append(f"the section's process {reason}")
        report.write()


def _merge(report: Report, name: str, directory: Path) -> None:
    path = directory / "accelerator.json"
    if path.exists():
        section = json.loads(path.read_text())["sections"].get(name)
        if section is not None:
            report.data["sections"][name] = section
            report.write()


def probe() -> dict[str, Any]:
    """The device's facts, from a process of its own (this one leaves the device alone)."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_accelerator", "--probe"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    options = parser(__doc__, prog="python -m benchmarks accelerator")
    options.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options.add_argument("--tiny", action="store_true", help="mini sizes (default without GPU/TPU)")
    options.add_argument("--budget", type=float, default=None, help="seconds (480, tiny 90)")
    options.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    options.add_argument("--child", choices=SECTIONS, help=argparse.SUPPRESS)
    options.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = options.parse_args(argv or [])
    if args.probe:
        print(json.dumps(device_facts()))
        return
    if args.child:
        run_section(args.child, args.out, args.tiny, args.budget)
        return

    import jax
    import jaxlib

    device = probe()
    tiny = args.tiny or device["platform"] == "cpu"
    mode = "tiny" if tiny else "full"
    budget_s = args.budget or (90.0 if tiny else 480.0)
    config = settings(tiny)
    report = Report(
        args.out,
        {
            "mode": mode,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "device": device,
            "jax": jax.__version__,
            "jaxlib": jaxlib.__version__,
            "python": platform.python_version(),
            "host": {"cpus": os.cpu_count(), "load": round(os.getloadavg()[0], 2)},
            "budget_s": budget_s,
            "peak_tflops": PEAK_TFLOPS,
        },
    )
    shares = {name: config[name]["share"] for name in args.sections}
    scale = budget_s / sum(shares.values())
    deadline = time.perf_counter()
    for name in args.sections:  # time a section leaves unused goes to the next
        deadline += shares[name] * scale
        print(f"-- {name} ({deadline - time.perf_counter():.0f} s)", flush=True)
        spawn_section(report, name, tiny, deadline, GRACE_S[mode])
    report.write()
    print((args.out / "accelerator.md").read_text(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
