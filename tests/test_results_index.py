"""The results index: a cache of checked results that the per-trial files always overrule."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import math
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import attrs
import numpy as np
import pytest
from rich.console import Console

import hpbench.results.index as index_module
from benchmarks.synthetic_results import make_result, make_trial, write_result
from hpbench.plan import ID_NAMES, TRIAL_FORMAT, Plan, Target, Trial, canonical_json_value
from hpbench.report.data import SpecRun, build_report
from hpbench.report.plots import _nan_to_num
from hpbench.report.provenance import collect
from hpbench.report.render import render
from hpbench.results.curves import Reach, reach
from hpbench.results.index import INDEX_NAME, ResultsIndex
from hpbench.results.records import EvalRecord, read_trial
from hpbench.scoring import scores_table
from hpbench.scoring.time_to_target import median_best_metric, median_over_seeds, score_trial

REACH = (0.3, 0.5, 0.8, 1.2)


def _plan(name: str, rate: float) -> Plan:
    trials = tuple(
        make_trial(workload, hyperparameters={"learning_rate": rate}, seed=seed)
        for workload in ("criteo", "ogbg")
        for seed in range(2)
    )
    return Plan(name=name, trials=trials)


@pytest.fixture
def store(tmp_path, monkeypatch):
    """Two specs of 4 trials each; the racy window shrunk so the test need not wait 2 s."""
    monkeypatch.setattr(index_module, "RACY_SECONDS", 0.05)
    plans = [_plan("a", 1e-3), _plan("b", 3e-3)]
    results = tmp_path / "results"
    for k, trial in enumerate(t for p in plans for t in p.trials):
        write_result(make_result(trial, REACH[k % 4]), results)
    time.sleep(0.1)
    return plans, results


def _trials(plans):
    return [t for p in plans for t in p.trials]


def _same(a, b) -> bool:
    """Equal scores, NaN equal to NaN (the generated store has no AlgoPerf clock: NaN)."""
    return repr(a) == repr(b)


def _from_files(results, trial):
    return read_trial(results / trial.id, planned=trial)


def _rows(results: Path) -> int:
    with sqlite3.connect(results / INDEX_NAME) as db:
        return db.execute("SELECT count(*) FROM trials").fetchone()[0]


def _built(results, plans):
    index = ResultsIndex(results)
    found = [index.read(t) for t in _trials(plans)]
    index.save()
    return found


def _no_file_reads(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("read from the files, not the index")

    monkeypatch.setattr(index_module, "read_trial", refuse)


def test_built_then_served_equal_to_the_files(store, monkeypatch):
    plans, results = store
    built = _built(results, plans)
    assert built == [_from_files(results, t) for t in _trials(plans)]
    assert _rows(results) == 8
    _no_file_reads(monkeypatch)
    index = ResultsIndex(results)
    assert [index.read(t) for t in _trials(plans)] == built


def test_a_rewritten_trial_is_read_again(store):
    plans, results = store
    before = _built(results, plans)[0]
    trial = plans[0].trials[0]
    time.sleep(0.02)
    write_result(make_result(trial, 0.9), results)
    result = ResultsIndex(results).read(trial)
    assert result.evals != before.evals
    assert result == _from_files(results, trial)


@pytest.mark.parametrize("file", ["metrics.jsonl", "status.json", "trial.json"])
def test_damage_after_indexing_reads_as_corrupt_and_is_never_stored(store, file):
    plans, results = store
    _built(results, plans)
    trial = plans[1].trials[2]
    path = results / trial.id / file
    time.sleep(0.02)
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0x01  # one bit, same size: only the stat tells
    path.write_bytes(bytes(content))
    index = ResultsIndex(results)
    assert index.read(trial).damaged
    index.save()
    assert ResultsIndex(results).read(trial).damaged


@pytest.mark.parametrize("relative", [True, False], ids=["dir_fd", "paths"])
@pytest.mark.parametrize(
    "change",
    ["append a row", "replace status.json", "add a file", "remove metrics.jsonl"],
)
def test_a_changed_added_or_removed_file_is_seen(store, monkeypatch, relative, change):
    """The stat key sees every change of a trial's files, whether they are stated relative
    to the results directory (one descriptor, the usual route) or by path (no ``dir_fd``):
    the changed trial is read from its files again, the others are served."""
    if not relative:
        monkeypatch.setattr(index_module, "_open_directory", lambda path: None)
    plans, results = store
    trial = plans[0].trials[1]
    directory = results / trial.id
    if change == "add a file":  # indexed failed before its first evaluation: no rows file
        kept = (directory / "metrics.jsonl").read_bytes()
        (directory / "metrics.jsonl").unlink()
        status = json.loads((directory / "status.json").read_text())
        status.update(state="failed", step=0, reason="OOM", metrics=None)
        (directory / "status.json").write_text(json.dumps(status))
        time.sleep(0.1)  # past the racy window, so it is stored
    _built(results, plans)
    assert ResultsIndex(results)._rows.keys() == {t.id for t in _trials(plans)}
    time.sleep(0.02)
    if change == "append a row":
        with (directory / "metrics.jsonl").open("a") as f:
            f.write('{"step": 9999, "train_seconds": 1.0, "train_loss": 0.1, "metrics": {}}\n')
    elif change == "replace status.json":  # the same bytes under a new inode
        content = (directory / "status.json").read_bytes()
        (directory / "new").write_bytes(content)
        (directory / "new").replace(directory / "status.json")
    elif change == "add a file":
        (directory / "metrics.jsonl").write_bytes(kept)
    else:
        (directory / "metrics.jsonl").unlink()
    reads = []
    monkeypatch.setattr(
        index_module,
        "read_trial",
        lambda d, planned: reads.append(planned.id) or read_trial(d, planned),
    )
    index = ResultsIndex(results)
    assert (index._dir_fd is not None) == relative
    assert [index.read(t) for t in _trials(plans)] == [
        _from_files(results, t) for t in _trials(plans)
    ]
    assert reads == [trial.id]


def test_a_trial_changed_during_the_racy_window_is_not_stored(store, monkeypatch):
    plans, results = store
    monkeypatch.setattr(index_module, "RACY_SECONDS", 3600.0)
    index = ResultsIndex(results)
    assert all(index.read(t) is not None for t in _trials(plans))
    index.save()
    assert not (results / INDEX_NAME).exists() or _rows(results) == 0


def test_a_garbage_index_is_rebuilt_with_a_message(store, monkeypatch):
    plans, results = store
    (results / INDEX_NAME).write_bytes(b"not a database, just bytes\n" * 200)
    messages = []
    index = ResultsIndex(results, warn=messages.append)
    assert index.enabled
    assert len(messages) == 1 and "rebuilding" in messages[0]
    found = [index.read(t) for t in _trials(plans)]
    index.save()
    assert found == [_from_files(results, t) for t in _trials(plans)]
    assert _rows(results) == 8


def test_an_index_of_another_version_is_rebuilt(store):
    plans, results = store
    _built(results, plans)
    with sqlite3.connect(results / INDEX_NAME) as db:
        db.execute("UPDATE trials SET status = 'stale layout'")
        db.execute(f"PRAGMA user_version = {index_module.VERSION + 1}")
    messages = []
    index = ResultsIndex(results, warn=messages.append)
    assert "version" in messages[0]
    assert _rows(results) == 0
    assert [index.read(t) for t in _trials(plans)] == [
        _from_files(results, t) for t in _trials(plans)
    ]


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE trials SET status = '{\"evals\": 3}'",
        "UPDATE trials SET reaches = '[[\"loss\"]]'",
        "UPDATE trials SET provenance = '[3]'",
        "UPDATE trials SET status = '[\"done\"]'",
        "UPDATE curves SET evals = '{\"step\": 3}'",
        "DELETE FROM curves",
    ],
)
def test_a_damaged_row_is_read_from_the_files(store, damage):
    plans, results = store
    _built(results, plans)
    with sqlite3.connect(results / INDEX_NAME) as db:
        db.execute(damage)
    trial = plans[0].trials[1]
    assert ResultsIndex(results).read(trial) == _from_files(results, trial)


def test_curves_load_when_used_and_a_new_target_is_stored(store, monkeypatch):
    """A served trial's evaluations are read from the index only when used; scoring it
    against another target computes that target's reach once, then it is stored."""
    plans, results = store
    _built(results, plans)
    trial = plans[0].trials[0]
    loads = []
    decode = index_module._decode_evals
    monkeypatch.setattr(index_module, "_decode_evals", lambda p: loads.append(p) or decode(p))
    _no_file_reads(monkeypatch)
    served = ResultsIndex(results).read(trial)
    assert loads == [] and _same(score_trial(served), score_trial(_from_files(results, trial)))
    assert tuple(served.evals) == _from_files(results, trial).evals and len(loads) == 1
    other = attrs.evolve(trial, target=Target(trial.target.metric, 0.6, "min"))
    index = ResultsIndex(results)
    assert index.read(other) == _from_files(results, other) and len(loads) == 2
    index.save()
    again = ResultsIndex(results).read(other)
    assert _same(score_trial(again), score_trial(_from_files(results, other))) and len(loads) == 2


def test_a_read_only_store_is_read_without_an_index(store, monkeypatch):
    plans, results = store
    results.chmod(0o555)
    try:
        if _writable(results):
            pytest.skip("running as a user who can write anywhere")
        index = ResultsIndex(results)
        assert [index.read(t) for t in _trials(plans)] == [
            _from_files(results, t) for t in _trials(plans)
        ]
        index.save()
        assert not (results / INDEX_NAME).exists()
    finally:
        results.chmod(0o755)


def _writable(directory: Path) -> bool:
    try:
        (directory / "probe").touch()
    except OSError:
        return False
    (directory / "probe").unlink()
    return True


_BUILD = """
import sys, json
from pathlib import Path
import hpbench.results.index as ix
from hpbench.plan import Trial
ix.RACY_SECONDS = 0.05
results = Path(sys.argv[1])
trials = [Trial.from_json(json.loads(p.read_text())) for p in sorted(results.glob("*/trial.json"))]
index = ix.ResultsIndex(results)
found = [index.read(t) for t in trials]
index.save()
print(sum(r is not None and not r.damaged for r in found))
"""


def test_two_processes_build_it_at_once(store, monkeypatch):
    plans, results = store
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _BUILD, str(results)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert [out.strip() for out, _ in outputs] == ["8", "8"]
    assert all("warning" not in err for _, err in outputs), outputs
    assert _rows(results) == 8
    _no_file_reads(monkeypatch)
    index = ResultsIndex(results)
    for trial in _trials(plans):
        assert index.read(trial) == _from_files(results, trial)


def _score_text(plans, results, index):
    """The score table and the rendered report (Markdown, HTML, figures)."""
    runs = [attrs.evolve(SpecRun.load(p, results, None, index), is_list=True) for p in plans]
    provenance = collect([], [], now=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
    report = build_report(runs, provenance=provenance)
    console = Console(file=io.StringIO(), width=200)
    console.print(scores_table(report.scores))
    rendered = render(report)
    return console.file.getvalue(), rendered.markdown, rendered.html, rendered.figures


def test_score_tables_equal_with_and_without_the_index(store, monkeypatch):
    plans, results = store
    damaged = plans[0].trials[3]
    (results / damaged.id / "metrics.jsonl").write_text("{torn")
    plain = ResultsIndex(results)
    plain.enabled = False  # reads every trial from its files, stores nothing
    without = _score_text(plans, results, plain)
    assert not (results / INDEX_NAME).exists() or _rows(results) == 0
    cold = _score_text(plans, results, None)  # builds the index
    assert _rows(results) == 7  # the corrupt trial is not stored
    reads = []

    def counted(directory, planned):
        reads.append(planned.id)
        return read_trial(directory, planned)

    monkeypatch.setattr(index_module, "read_trial", counted)
    warm = _score_text(plans, results, None)
    assert reads == [damaged.id]  # the corrupt trial, from its files every time
    assert without == cold == warm
    assert "a" in without[0] and "b" in without[0]


def _reference_canonical(trial: Trial) -> dict:
    """``Trial.canonical`` as it was written before it was built by hand (attrs.asdict)."""

    def serialize(_inst, _field, value):
        if isinstance(value, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in value):
            return dict(value)
        return value

    fields = attrs.asdict(trial, recurse=True, value_serializer=serialize)
    if not trial.workload_revision:
        del fields["workload_revision"]  # revision 0 is not written (ids from before it)
    if trial.train_rows is None:
        del fields["train_rows"]  # a data variant is written only when set (ids from before it)
    if not trial.label_noise:
        del fields["label_noise"]
    if trial.width is None:
        del fields["width"]  # the registered model's width is not written (ids from before it)
    return canonical_json_value({"format": TRIAL_FORMAT, **fields})


def test_canonical_form_and_ids_unchanged():
    base = make_trial(
        "criteo", hyperparameters={"learning_rate": 1e-3, "b1": 0.9, "nesterov": True}
    )
    trials = [
        base,
        attrs.evolve(base, options={"base": "adam", "k": 2}, data="data/x", stop_at_target=True),
        attrs.evolve(base, hyperparameters={}, variant="layernorm", seed=3),
        attrs.evolve(base, workload_revision=1),
        attrs.evolve(base, train_rows=4096, label_noise=0.2),
        attrs.evolve(base, width=2),
    ]
    for trial in trials:
        assert trial.canonical() == _reference_canonical(trial)
        assert list(trial.canonical()) == sorted(trial.canonical())
        assert json.dumps(trial.canonical(), sort_keys=True) == json.dumps(
            _reference_canonical(trial), sort_keys=True
        )
    assert base.id == Trial.from_json({"id": base.id, **base.canonical()}).id


def _generic_id(trial: Trial) -> str:
    """The id as hashed before the JSON was written field by field: ``json.dumps`` of the
    canonical form (the target only when training stops there, ``ID_NAMES`` applied)."""
    identity = trial.canonical()
    identity["algorithm"] = ID_NAMES.get(trial.algorithm, trial.algorithm)
    if not trial.stop_at_target:
        del identity["target"]
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def test_ids_hash_the_same_json_as_json_dumps():
    base = make_trial("criteo", hyperparameters={"learning_rate": 1e-3, "nesterov": True})
    odd = {"nan": math.nan, "zero": -0.0, "inf": math.inf, "ninf": -math.inf, "big": 10**30}
    trials = [
        base,
        attrs.evolve(base, options={"base": "adam", "k": 2}, data="data/ü", stop_at_target=True),
        attrs.evolve(base, hyperparameters={}, variant="layernorm", seed=3, horizon=1),
        attrs.evolve(base, workload_revision=2, algorithm="nadamw_algoperf"),
        attrs.evolve(base, train_rows=512, label_noise=0.1, width=4),
        attrs.evolve(base, hyperparameters={**odd, "name": 'a"b\\c\n\u00e9', "tiny": 5e-324}),
        attrs.evolve(base, target=Target("ssim", math.inf, "max"), stop_at_target=True),
        attrs.evolve(base, hyperparameters={"learning_rate": np.float64(0.1)}),  # generic route
    ]
    for trial in trials:
        assert trial.id == _generic_id(trial)
        # a plan's trials by seed: ids from this trial's JSON with the seed rewritten
        seeds = [0, 7, 12345678901234567890, np.int64(5)]  # numpy's: converted to an int
        seeded = trial.with_seeds(seeds)
        assert seeded == [attrs.evolve(trial, seed=s) for s in seeds]
        assert [t.id for t in seeded] == [_generic_id(attrs.evolve(t)) for t in seeded]
    assert len({t.id for t in trials}) == len(trials)


def test_served_equal_to_files_for_every_outcome(tmp_path, monkeypatch):
    """Reached, missed, diverged, failed, interrupted, a "running" trial whose run is gone,
    and a corrupt one: the score table, report, problems and outcomes read through a fresh
    index equal those read from the files (corrupt: never stored, read each time)."""
    monkeypatch.setattr(index_module, "RACY_SECONDS", 0.05)
    kinds = [
        {"reach": 0.3},
        {"reach": 1.2},
        {"reach": 1.2, "state": "diverged", "stop_step": 400, "reason": "NaN loss"},
        {"reach": 0.6, "state": "failed", "stop_step": 100, "reason": "OOM"},
        {"reach": 0.5, "state": "interrupted", "stop_step": 160},
        {"reach": 0.4, "state": "running", "stop_step": 260},
    ]
    plans, results = [], tmp_path / "results"
    for name, rate in (("a", 1e-3), ("b", 3e-3)):
        trials = [
            make_trial(w, hyperparameters={"learning_rate": rate}, seed=seed)
            for w in ("criteo", "ogbg")
            for seed in range(3)
        ]
        plans.append(Plan(name=name, trials=tuple(trials)))
        for k, trial in enumerate(trials):
            result = make_result(trial, **kinds[(k + len(name) + int(rate * 1e3)) % len(kinds)])
            write_result(result, results)
    (results / plans[1].trials[2].id / "status.json").write_text("{torn")
    time.sleep(0.1)

    def everything(index):
        runs = [attrs.evolve(SpecRun.load(p, results, None, index), is_list=True) for p in plans]
        report = build_report(runs, provenance=collect([], [], now=datetime.datetime(2026, 1, 1)))
        return (
            _score_text(plans, results, index),
            [e.outcomes for e in report.entries],
            report.problems,
            report.warnings,
            repr(report.spread.rows),
        )

    plain = ResultsIndex(results)
    plain.enabled = False
    from_files = everything(plain)
    assert everything(None) == from_files  # builds the index
    assert _rows(results) == 11  # 12 trials, the corrupt one not stored
    warm = ResultsIndex(results)
    assert everything(warm) == from_files
    outcomes = [o for e in from_files[1] for o, n in e.items() if n]
    expected = {"reached", "missed", "diverged", "failed", "interrupted", "corrupt"}
    assert expected <= set(outcomes), outcomes


def test_medians_are_numpys():
    """The scoring medians, now in Python, agree with ``np.median`` (inf and NaN included)."""
    rng = np.random.default_rng(0)
    choices = np.array([0.1, 0.25, 0.5, 0.75, 1.0, np.inf, np.nan])
    for _ in range(500):
        values = list(rng.choice(choices, size=int(rng.integers(1, 7))))
        expected = float(np.median(values))
        assert median_over_seeds(values) == pytest.approx(expected, nan_ok=True)
        finite = [v for v in values if not np.isnan(v)]
        expected = float(np.median(finite)) if finite else math.nan
        assert median_best_metric(values) == pytest.approx(expected, nan_ok=True)
    assert median_over_seeds([]) == math.inf


def test_the_curves_sort_key_is_numpys_nan_to_num():
    """fastest_points' key, now in Python, orders as ``np.nan_to_num(v, nan=inf)``."""
    for value in (1.0, -2.5, 0.0, -0.0, 1e308, math.nan, math.inf, -math.inf):
        expected = float(np.nan_to_num(value, nan=math.inf))
        assert _nan_to_num(value) == expected
        assert math.copysign(1.0, _nan_to_num(value)) == math.copysign(1.0, expected)


def test_rows_round_trip_non_finite_values_and_uneven_metrics():
    evals = (
        EvalRecord(50, 0.5, math.nan, {"loss": 1.0, "cross_entropy": math.inf}),
        EvalRecord(100, 1.0, 0.7, {"cross_entropy": -math.inf}),
        EvalRecord(150, 1.5, 0.6, {}),
    )
    back = index_module._decode_evals(index_module._encode_evals(evals))
    assert [(r.step, r.train_seconds, r.metrics) for r in back] == [
        (r.step, r.train_seconds, r.metrics) for r in evals
    ]
    assert math.isnan(back[0].train_loss) and back[1].train_loss == 0.7
    targets = [Target("cross_entropy", 0.5, "min"), Target("loss", 2.0, "max")]
    reaches = {t: reach(evals, t) for t in targets}
    # the first row at or below 0.5 is step 100's (-inf), which is also the best
    assert reaches[targets[0]] == Reach(100, 1.0, None, -math.inf, clocked=False)
    assert reaches[targets[1]] == Reach(None, None, None, 1.0, clocked=False)  # no clock
    clocked = tuple(attrs.evolve(r, algoperf_seconds=r.train_seconds + 2.0) for r in evals)
    assert reach(clocked, targets[0]) == Reach(100, 1.0, 3.0, -math.inf, clocked=True)
    reaches[Target("cross_entropy", 0.4, "min")] = reach(clocked, targets[0])
    encoded = index_module._encode_reaches(reaches)
    assert index_module._decode_reaches(encoded, targets[1]) == reaches
