"""Untrusted specs and nightly files: names, referenced files and output paths stay confined,
sizes are bounded before anything is expanded (docs/security.md).

The probes of issue 22 each end in a ``file:line:col`` problem and exit 2; the files of
tests/specs/bad/ (``extends_*_outside``, ``name_path``, ``huge_grid``, ``data_outside``)
pin their exact messages.
"""

from pathlib import Path
from types import SimpleNamespace

import pytest

from hpbench.cli import main
from hpbench.cli.report import _default_out
from hpbench.config import source as config_source
from hpbench.config.bounds import MAX_ARRAY, MAX_DEPTH, MAX_EXTENDS, MAX_FILE_BYTES, MAX_STRING
from hpbench.config.confine import is_plain_name, repository_root, under
from hpbench.spec import SpecError, load_plan, load_spec
from hpbench.spec.confine import is_data_path

ROOT = Path(__file__).resolve().parent.parent
TOY = ROOT / "specs" / "suites" / "toy.toml"
SECRET = "TOPSECRET-do-not-echo"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository (``pyproject.toml`` marks it) inside ``tmp_path``, the working directory,
    and a file outside it whose content must never be read or echoed."""
    root = tmp_path / "repo"
    (root / "specs").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    (tmp_path / "outside.toml").write_text(f'secret = "{SECRET}"\n[algorithm]\nname = "x"\n')
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def opened(monkeypatch):
    """The files spec loading reads, in order."""
    seen: list[Path] = []
    read = config_source._read

    def spy(path, shown):
        seen.append(Path(path).resolve())
        return read(path, shown)

    monkeypatch.setattr(config_source, "_read", spy)
    return seen


def _spec(repo: Path, body: str, name: str = "probe.toml") -> Path:
    path = repo / "specs" / name
    path.write_text(body)
    return path


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# --- paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extends", ["/etc/passwd", "../../../x", "../../outside.toml", "/etc/../etc/hosts.toml"]
)
def test_extends_outside_the_repository_is_refused_before_it_is_opened(
    repo, opened, capsys, extends
):
    spec = _spec(repo, f'[benchmark]\nextends = "{extends}"\n')
    code, out = _run(capsys, "validate", str(spec))
    assert code == 2
    expected = "expected a path to a .toml file inside the repository"
    assert f'specs/probe.toml:2:11: benchmark.extends: {expected}, found "{extends}"' in out
    assert SECRET not in out and "root:" not in out and "Traceback" not in out
    assert opened == [spec.resolve()]  # the parent was never read


def test_a_symbolic_link_out_of_the_repository_is_refused(repo, opened):
    (repo / "specs" / "link.toml").symlink_to(repo.parent / "outside.toml")
    spec = _spec(repo, '[benchmark]\nextends = "link.toml"\n')
    with pytest.raises(SpecError, match="which leads outside it") as raised:
        load_spec(spec)
    assert SECRET not in raised.value.render()
    assert opened == [spec.resolve()]


def test_extends_inside_the_repository_and_the_shipped_suites_still_work(repo):
    (repo / "suites").mkdir()
    (repo / "suites" / "mine.toml").write_text(TOY.read_text())
    inside = _spec(
        repo, '[benchmark]\nextends = "../suites/mine.toml"\n[algorithm]\nname = "sgd"\n'
    )
    shipped = _spec(repo, f'[benchmark]\nextends = "{TOY}"\n[algorithm]\nname = "sgd"\n', "b.toml")
    assert len(load_plan(inside).trials) == len(load_plan(shipped).trials) == 1


def test_hidden_files_inside_the_repository_are_refused(repo, opened):
    (repo / ".secrets").mkdir()
    (repo / ".secrets" / "ci.toml").write_text(f'token = "{SECRET}"\n')
    spec = _spec(repo, '[benchmark]\nextends = "../.secrets/ci.toml"\n')
    with pytest.raises(SpecError, match='found "../.secrets/ci.toml", a hidden file') as raised:
        load_spec(spec)
    assert SECRET not in raised.value.render() and opened == [spec.resolve()]


def test_a_spec_outside_any_repository_reaches_only_its_own_directory(tmp_path):
    (tmp_path / "parent.toml").write_text(TOY.read_text())
    (tmp_path / "deep").mkdir()
    spec = tmp_path / "deep" / "spec.toml"
    spec.write_text('[benchmark]\nextends = "../parent.toml"\n')
    assert repository_root(spec.parent) == spec.parent.resolve()
    with pytest.raises(SpecError, match="which leads outside it"):
        load_spec(spec)


def test_a_search_space_file_outside_the_repository_is_refused(repo, opened):
    spec = _spec(
        repo,
        f'[benchmark]\nextends = "{TOY}"\n[algorithm]\nname = "adamw"\n'
        '[search]\nspace = "../../outside.toml"\n',
    )
    with pytest.raises(SpecError) as raised:
        load_spec(spec)
    (problem,) = raised.value.problems
    assert (problem.key, problem.line) == ("search.space", 6)
    assert "which leads outside it" in problem.message and SECRET not in problem.message
    assert repo.parent / "outside.toml" not in opened


def test_a_spec_name_that_is_a_path_is_refused_and_report_writes_nothing(repo, capsys):
    spec = _spec(repo, f'[benchmark]\nname = "../../../../tmp/x"\nextends = "{TOY}"\n')
    for command in (["validate", str(spec)], ["report", str(spec), "--results", "results"]):
        code, out = _run(capsys, *command)
        assert code == 2
        assert "specs/probe.toml:2:8: benchmark.name: expected a plain file name" in out
    assert sorted(p.name for p in repo.iterdir()) == ["pyproject.toml", "specs"]
    assert sorted(p.name for p in repo.parent.iterdir()) == ["outside.toml", "repo"]


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a/b", "a\nb", "a\0b", "x" * 101, "", 3])
def test_names_that_are_not_plain_file_names(name):
    assert not is_plain_name(name)


@pytest.mark.parametrize("name", ["adamw_baseline", "mini-suite", "v1.2", "_x", "x" * 100])
def test_plain_file_names(name):
    assert is_plain_name(name)


def test_a_nightly_report_named_dot_dot_is_refused_and_nothing_renders(repo, capsys):
    spec = _spec(repo, f'[benchmark]\nname = "s"\nextends = "{TOY}"\n[algorithm]\nname = "sgd"\n')
    nightly = _spec(
        repo, f'[nightly]\n[[report]]\nname = ".."\nspecs = ["{spec.name}"]\n', "nightly.toml"
    )
    for command in (
        ["validate", str(nightly)],
        ["nightly", str(nightly), "--no-run", "--reports", "reports"],
    ):
        code, out = _run(capsys, *command)
        assert code == 2
        assert "specs/nightly.toml:3:8: report[0].name: expected a plain file name" in out
    assert not (repo / "reports").exists() and not (repo / "index.md").exists()


def test_a_nightly_spec_outside_the_repository_is_refused(repo, opened, capsys):
    nightly = _spec(repo, '[nightly]\n[[report]]\nname = "r"\nspecs = ["../../outside.toml"]\n')
    code, out = _run(capsys, "validate", str(nightly))
    assert code == 2
    assert "report[0].specs[0]: expected a path to a .toml file inside the repository" in out
    assert SECRET not in out and opened == [nightly.resolve()]


def test_output_paths_are_checked_under_their_root(tmp_path):
    reports = tmp_path / "reports"
    (reports / "ok").mkdir(parents=True)
    (reports / "escape").symlink_to(tmp_path)
    assert under(reports, reports / "ok") == reports / "ok"
    assert under(reports, reports / "new" / "plots") == reports / "new" / "plots"
    for bad in (reports / "..", reports / "a" / ".." / "..", reports / "escape" / "x"):
        with pytest.raises(ValueError, match="leads outside it"):
            under(reports, bad)


def test_the_default_report_directory_is_one_plain_name_under_reports():
    def report(*labels):
        return SimpleNamespace(
            entries=[SimpleNamespace(spec=label, label=label) for label in labels]
        )

    assert _default_out(report("adamw", "nadamw_list5")) == Path("reports/adamw-nadamw_list5")
    for labels in ((".",), ("..",), ("a b",), ("x" * 60, "y" * 60)):  # file stems, too long
        with pytest.raises(ValueError, match="give one with --out DIR"):
            _default_out(report(*labels))


@pytest.mark.parametrize("data", ["/data/criteo_full", "data/criteo", "./d", "~/d"])
def test_data_paths_absolute_or_relative_without_dot_dot(data):
    assert is_data_path(data)


@pytest.mark.parametrize("data", ["../etc", "a/../../b", "", "a\nb", "a\0b"])
def test_data_paths_that_climb_out_or_carry_control_characters(data):
    assert not is_data_path(data)


# --- bounds ------------------------------------------------------------------------------


def _grid(values: int, axes: int = 3) -> str:
    names = ("learning_rate", "weight_decay", "eps")[:axes]
    row = "[" + ", ".join(f"{(i + 1) * 1e-5:.5g}" for i in range(values)) + "]"
    return "[grid]\n" + "".join(f"{n} = {row}\n" for n in names)


def test_a_million_point_grid_is_refused_from_its_sizes(repo, capsys):
    spec = _spec(
        repo, f'[benchmark]\nextends = "{TOY}"\n[algorithm]\nname = "adamw"\n' + _grid(100)
    )
    for command in ("validate", "plan"):
        code, out = _run(capsys, command, str(spec))
        assert code == 2
        assert "grid.learning_rate: expected at most 100,000 trials" in out
        assert "found 1,000,000 (1 workloads x 1 points x 100 grid.learning_rate" in out


def test_the_trial_limit_is_raised_by_flag_and_environment(repo, capsys, monkeypatch):
    spec = _spec(repo, f'[benchmark]\nextends = "{TOY}"\n[algorithm]\nname = "adamw"\n' + _grid(10))
    assert _run(capsys, "validate", str(spec), "--max-trials", "999")[0] == 2
    code, out = _run(capsys, "validate", str(spec), "--max-trials", "1000")
    assert (code, "ok") == (0, out[:2]) and "1000 trials of adamw" in out
    monkeypatch.setenv("HPBENCH_MAX_TRIALS", "500")
    with pytest.raises(SpecError, match="at most 500 trials"):
        load_spec(spec)
    assert len(load_plan(spec, max_trials=1000).trials) == 1000


def test_seeds_and_workload_variants_count_too(repo):
    spec = _spec(
        repo,
        f'[benchmark]\nextends = "{TOY}"\n[algorithm]\nname = "adamw"\n'
        + _grid(10, axes=2)
        + "[run]\nseeds = [" + ", ".join(map(str, range(20))) + "]\n",
    )  # fmt: skip
    with pytest.raises(SpecError) as raised:
        load_spec(spec, max_trials=1999)
    (problem,) = raised.value.problems
    assert problem.key == "run.seeds"  # the largest factor
    assert "found 2,000 (1 workloads x 1 points x 10 grid.learning_rate" in problem.message
    assert load_spec(spec, max_trials=2000).counted_trials == 2000


def test_a_calibration_counts_its_search_at_every_horizon(repo):
    body = (
        f'[benchmark]\nextends = "{TOY}"\n[algorithm]\nname = "mechanic"\n'
        '[search]\nmethod = "halton"\npoints = 100\n[search.space.weight_decay]\n'
        'scale = "linear"\nlow = 0.0\nhigh = 0.1\n'
        "[select]\nhorizons = [0.25, 0.5, 1.0]\ntop_k = 10\nseeds = [1, 2, 3]\n"
    )
    spec = _spec(repo, body)
    # 3 horizons x (100 search trials + 10 points x 3 seeds x 1 workload) = 390
    assert load_spec(spec, max_trials=390).counted_trials == 100
    with pytest.raises(SpecError, match=r"found 390 \(.*, calibrated\)"):
        load_spec(spec, max_trials=389)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x = [" + ", ".join(["1"] * (MAX_ARRAY + 1)) + "]\n", f"an array of at most {MAX_ARRAY}"),
        (f'[benchmark]\ndescription = "{"d" * (MAX_STRING + 1)}"\n', "a string of at most"),
        ("x = " + "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2) + "\n", "levels of tables"),
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", "levels of nested arrays, found more"),
        ("x = " + "9" * 5000 + "\n", "expected valid TOML, found a number too long to read"),
        ("x = 99999999999999999999\n", "an integer within 64 bits"),
        (f'"{"k" * 200}" = 1\n', "a key of at most 100 characters"),
    ],
    ids=["array", "string", "depth", "deep-arrays", "huge-integer", "wide-integer", "key"],
)
def test_oversized_values_are_refused(repo, capsys, body, message):
    spec = _spec(repo, body)
    code, out = _run(capsys, "validate", str(spec))
    assert code == 2 and message in out and "Traceback" not in out
    assert out.startswith("specs/probe.toml:")
    assert len(out) < 1000  # nothing long is echoed


def test_a_spec_file_larger_than_the_limit_is_refused_unread(repo, capsys):
    spec = _spec(repo, "# " + "x" * MAX_FILE_BYTES + "\n")
    code, out = _run(capsys, "validate", str(spec))
    assert code == 2
    assert (
        f"specs/probe.toml:1:1: expected a spec file of at most {MAX_FILE_BYTES // 1024} KiB" in out
    )


def test_a_long_extends_chain_is_refused(repo, capsys):
    for i in range(MAX_EXTENDS):
        _spec(repo, f'[benchmark]\nextends = "s{i + 1}.toml"\n', f"s{i}.toml")
    _spec(repo, f'[benchmark]\nextends = "{TOY}"\n', f"s{MAX_EXTENDS}.toml")
    assert len(load_spec(repo / "specs" / "s1.toml").workloads) == 1  # 16 parents, the toy suite
    code, out = _run(capsys, "validate", "specs/s0.toml")
    assert code == 2 and "Traceback" not in out
    assert f"benchmark.extends: expected a chain of at most {MAX_EXTENDS} parents" in out
