"""The shipped specs keep their trial ids: a refactor that moves an id orphans every result
trained under it (issue 21, item 5).

``tests/data/shipped_trial_ids.json`` was written from main before the refactor (commit
24a8395) by this module's ``pin``; run ``python tests/test_spec_ids_pinned.py [SPEC...]`` to
rewrite it (the named specs' pins, else all), only for a deliberate change of what a trial's
identity is or of a spec's hyperparameters (a new calibration).
"""

import hashlib
import json
import sys
from pathlib import Path

import pytest

import hpbench

ROOT = Path(__file__).resolve().parent.parent
PINNED = ROOT / "tests" / "data" / "shipped_trial_ids.json"
SPECS = json.loads(PINNED.read_text())["specs"]


def pin(path: str) -> dict:
    """What is pinned of the spec at ``path`` (relative to the repository): trial count,
    digests of its ids as a set and in plan order, and the first ids (for a readable diff)."""
    ids = [t.id for t in hpbench.plan(ROOT / path).trials]
    return {
        "trials": len(ids),
        "unique": len(set(ids)),
        "ids_sha256": hashlib.sha256("\n".join(sorted(set(ids))).encode()).hexdigest(),
        "order_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest(),
        "first": ids[:3],
    }


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # specs name `extends` and search spaces relative to the root


@pytest.mark.parametrize("path", sorted(SPECS))
def test_shipped_spec_keeps_its_trial_ids(path):
    now, then = pin(path), SPECS[path]
    assert now["trials"] == then["trials"], f"{path}: the number of trials changed"
    assert now["ids_sha256"] == then["ids_sha256"], (
        f"{path}: trial ids changed (first now {now['first']}, pinned {then['first']})"
    )
    assert now == then, f"{path}: same ids, but the plan's order of trials changed"


if __name__ == "__main__":
    paths = sys.argv[1:] or sorted(SPECS)  # the named specs are re-pinned, the rest kept
    about = json.loads(PINNED.read_text())["_about"]
    doc = {"_about": about, "specs": {**SPECS, **{p: pin(p) for p in paths}}}
    PINNED.write_text(json.dumps(doc, indent=1) + "\n")
