"""``hpbench results export / import``: a deterministic archive of finished trials that
restores the same scores, and hostile archives (paths out of the store, links, oversize,
tampered rows) refused with nothing written."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import attrs
import pytest
from report_helpers import write_results, write_specs

from benchmarks.synthetic_results import make_result, write_result
from hpbench import cli
from hpbench.results import archive
from hpbench.results.archive import ArchiveError, export_results, import_results, read_archive
from hpbench.results.records import write_json_atomic
from hpbench.spec import load_plan

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path):
    """Three toy specs and a synthetic result for each of their trials."""
    specs = write_specs(tmp_path)
    write_results(specs, tmp_path / "results")
    return specs, tmp_path / "results"


def trials_of(specs):
    return [trial for spec in specs for trial in load_plan(spec).trials]


def score(specs, results: Path, capsys) -> str:
    capsys.readouterr()
    assert cli.main(["score", *map(str, specs), "--results", str(results)]) == 0
    return capsys.readouterr().out


def test_round_trip_restores_the_same_scores_and_export_is_byte_stable(store, tmp_path, capsys):
    specs, results = store
    trials = trials_of(specs)
    first = export_results(results, trials, tmp_path / "a.tar.xz")
    assert sorted(first.trials) == sorted({t.id for t in trials}) and not first.left_out
    (results / first.trials[0] / "status.json").touch()  # a later mtime changes nothing
    export_results(results, reversed(trials), tmp_path / "b.tar.xz")
    assert (tmp_path / "a.tar.xz").read_bytes() == (tmp_path / "b.tar.xz").read_bytes()
    with tarfile.open(tmp_path / "a.tar.xz") as tar:
        names = tar.getnames()
        assert names == sorted(names)
        assert {(m.mtime, m.uid, m.uname, m.mode) for m in tar} == {(archive.MTIME, 0, "", 0o644)}
    assert len(names) == 3 * len(first.trials)

    restored = tmp_path / "restored"
    imported = import_results(tmp_path / "a.tar.xz", restored)
    assert sorted(imported.restored) == sorted(first.trials)
    for trial_id in first.trials:
        for name in archive.FILES:
            assert (restored / trial_id / name).read_bytes() == (
                results / trial_id / name
            ).read_bytes()
    assert [p.name for p in restored.iterdir() if p.name.startswith(".")] == []  # no staging
    assert score(specs, restored, capsys) == score(specs, results, capsys)

    again = import_results(tmp_path / "a.tar.xz", restored)
    assert (again.restored, again.conflicts) == ((), {})
    assert sorted(again.skipped) == sorted(first.trials)


def test_archives_and_trial_files_get_the_permissions_a_plain_open_gives(store, tmp_path):
    # mkstemp makes 0600 files: an archive or a status.json written through it was unreadable
    # to the other users of a shared results directory, while metrics.jsonl beside it was not
    specs, results = store
    plain = tmp_path / "plain"
    plain.write_text("")
    expected = stat.S_IMODE(plain.stat().st_mode)
    out = tmp_path / "a.tar.xz"
    exported = export_results(results, trials_of(specs), out)
    assert stat.S_IMODE(out.stat().st_mode) == expected
    write_json_atomic(tmp_path / "status.json", {"state": "done"})
    assert stat.S_IMODE((tmp_path / "status.json").stat().st_mode) == expected
    restored = tmp_path / "restored"
    import_results(out, restored)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in restored.glob("*/*")}
    assert modes == {expected} and len(list(restored.glob("*/*"))) == 3 * len(exported.trials)


def test_export_leaves_out_unfinished_corrupt_and_missing_trials(store, tmp_path):
    specs, results = store
    trials = trials_of(specs)
    gone, stopped, damaged = trials[0], trials[1], trials[2]
    for path in (results / gone.id).iterdir():
        path.unlink()
    step = 2 * stopped.eval_every + 1  # rows at 1 and 2 evaluations: a consistent interrupt
    write_result(make_result(stopped, 0.5, state="interrupted", stop_step=step), results)
    metrics = results / damaged.id / "metrics.jsonl"
    metrics.write_text(metrics.read_text().replace('"step": ', '"step":  ', 1))
    exported = export_results(results, trials, tmp_path / "a.tar.xz")
    assert exported.left_out[gone.id] == "no results"
    assert exported.left_out[stopped.id] == "not finished (interrupted)"
    assert "checksum" in exported.left_out[damaged.id]
    assert exported.left_out[damaged.id].startswith("corrupt")
    kept = {t.id for t in trials} - {gone.id, stopped.id, damaged.id}
    assert set(read_archive(tmp_path / "a.tar.xz")) == kept == set(exported.trials)


def test_a_trial_that_diverged_before_its_first_evaluation_round_trips(store, tmp_path):
    # the store writes no metrics.jsonl until the first evaluation: status.json counts 0 rows
    specs, results = store
    trials = trials_of(specs)
    early = trials[0]
    diverged = make_result(early, 0.5, state="diverged", stop_step=1, reason="non-finite loss")
    write_result(attrs.evolve(diverged, evals=()), results)
    (results / early.id / "metrics.jsonl").unlink()
    exported = export_results(results, trials, tmp_path / "a.tar.xz")
    assert early.id in exported.trials and not exported.left_out
    assert read_archive(tmp_path / "a.tar.xz")[early.id]["metrics.jsonl"] == b""
    restored = import_results(tmp_path / "a.tar.xz", tmp_path / "restored")
    assert early.id in restored.restored
    again = import_results(tmp_path / "a.tar.xz", results)  # the store it came from: the same
    assert (again.restored, again.conflicts) == ((), {}) and early.id in again.skipped


def _hostile(path: Path, members) -> Path:
    """A .tar.xz of (TarInfo, bytes or None) members, written as given."""
    with tarfile.open(path, "w:xz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes = b"{}") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _link(name: str, target: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


@pytest.mark.parametrize(
    "members, problem",
    [
        ([_file("../escape/trial.json")], "expected <trial-id>/"),
        ([_file("/tmp/abs/trial.json")], "expected <trial-id>/"),
        ([_file("0123456789abcdef/../../x")], "expected <trial-id>/"),
        ([_file("0123456789abcdef/checkpoint.msgpack")], "expected <trial-id>/"),
        ([_file("_jobs/trial.json")], "expected <trial-id>/"),
        ([_link("0123456789abcdef/trial.json", "/etc/passwd", tarfile.SYMTYPE)], "not a regular"),
        ([_link("0123456789abcdef/trial.json", "x/trial.json", tarfile.LNKTYPE)], "not a regular"),
        ([_link("0123456789abcdef", "", tarfile.DIRTYPE)], "not a regular"),
        ([_file("0123456789abcdef/trial.json", b"x" * 101)], "over the 100 allowed"),
        ([_file("0123456789abcdef/trial.json")] * 2, "stands twice"),
        ([_file("0123456789abcdef/trial.json")], "has no metrics.jsonl, status.json"),
    ],
)
def test_a_hostile_archive_is_refused_and_nothing_is_written(
    members, problem, tmp_path, monkeypatch
):
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 100)
    work = tmp_path / "work"
    work.mkdir()
    path = _hostile(tmp_path / "evil.tar.xz", members)
    with pytest.raises(ArchiveError, match=problem):
        import_results(path, work / "results")
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert written == ["evil.tar.xz", "work"] and not Path("/tmp/abs").exists()


def test_not_an_archive_is_refused(tmp_path):
    (tmp_path / "x.tar.xz").write_bytes(b"not xz at all")
    with pytest.raises(ArchiveError, match="not a readable .tar.xz"):
        import_results(tmp_path / "x.tar.xz", tmp_path / "results")
    assert not (tmp_path / "results").exists()
    with pytest.raises(ArchiveError, match="No such file"):
        import_results(tmp_path / "missing.tar.xz", tmp_path / "results")


def _rewrite(path: Path, change) -> Path:
    """A copy of an exported archive with ``change(name, data) -> data`` applied."""
    trials = read_archive(path)
    out = path.with_name("changed.tar.xz")
    members = [
        _file(f"{trial_id}/{name}", change(name, data))
        for trial_id, files in sorted(trials.items())
        for name, data in sorted(files.items())
    ]
    return _hostile(out, members)


def _tamper_row(name: str, data: bytes) -> bytes:
    return data.replace(b'"step": ', b'"step":  ', 1) if name == "metrics.jsonl" else data


def _drop_checksum(name: str, data: bytes) -> bytes:
    if name != "status.json":
        return data
    return json.dumps({**json.loads(data), "metrics": None}).encode()


@pytest.mark.parametrize(
    "change, problem",
    [(_tamper_row, "checksum in status.json"), (_drop_checksum, "checksummed status.json")],
)
def test_a_tampered_trial_is_refused_and_no_trial_is_written(store, tmp_path, change, problem):
    specs, results = store
    export_results(results, trials_of(specs), tmp_path / "a.tar.xz")
    changed = _rewrite(tmp_path / "a.tar.xz", change)
    with pytest.raises(ArchiveError, match=problem):
        import_results(changed, tmp_path / "restored")
    assert list((tmp_path / "restored").iterdir()) == []


def test_import_keeps_a_different_trial_and_says_so(store, tmp_path, capsys):
    specs, results = store
    trials = trials_of(specs)
    export_results(results, trials, tmp_path / "a.tar.xz")
    restored = tmp_path / "restored"
    other = make_result(trials[0], 0.9)  # the same trial id with other rows
    write_result(other, restored)
    before = (restored / trials[0].id / "metrics.jsonl").read_bytes()
    code = cli.main(["results", "import", str(tmp_path / "a.tar.xz"), "--results", str(restored)])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"kept {trials[0].id}: {restored / trials[0].id} holds other results" in err
    count = len({t.id for t in trials})
    assert f"restored {count - 1} trials, skipped 0 already there, kept 1 different" in out
    assert (restored / trials[0].id / "metrics.jsonl").read_bytes() == before


def test_the_commands_never_import_jax_and_say_how_to_restore(store, tmp_path):
    specs, results = store
    out = tmp_path / "a.tar.xz"
    code = (
        "import sys\n"
        "from hpbench import cli\n"
        f"argv = ['results', 'export', *{list(map(str, specs))!r}, '--results', {str(results)!r},"
        f" '--out', {str(out)!r}]\n"
        "assert cli.main(argv) == 0\n"
        f"assert cli.main(['results', 'import', {str(out)!r}, '--results', {str(tmp_path)!r}"
        " + '/r']) == 0\n"
        "assert 'jax' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"restore with: hpbench results import {out}" in result.stdout
    assert "restored" in result.stdout


def test_export_without_finished_trials_exits_1_and_says_why(store, tmp_path, capsys):
    specs, _ = store
    out = tmp_path / "a.tar.xz"
    argv = ["results", "export", *map(str, specs), "--results", str(tmp_path / "empty")]
    assert cli.main([*argv, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"left out {len(trials_of(specs))} trials: no results (" in err
    assert f"nothing exported: no finished trials under {tmp_path / 'empty'}" in err


def test_export_counts_a_trial_two_specs_share_once(store, tmp_path, capsys):
    specs, results = store
    unique = len({t.id for t in trials_of(specs)})
    argv = ["results", "export", *map(str, specs), *map(str, specs), "--results", str(results)]
    assert cli.main([*argv, "--out", str(tmp_path / "a.tar.xz")]) == 0
    assert f": {unique} finished trials of {unique} planned" in capsys.readouterr().out
