"""Data variants: a finite, noisy training set, as the full-size workloads have.

Full-size AlgoPerf workloads make many passes over a finite training set whose labels have
errors (ImageNet ResNet ~448 epochs in the papers' budgets); the generated mini data are
clean and seen a few times. A variant keeps the first ``train_rows`` training rows and
replaces a share ``label_noise`` of the train AND validation labels by random classes (the
validation labels too: a real validation set has label errors, so the error floor lies in
the metric). The noise is part of the dataset: drawn from the dataset's name, never from a
trial's seed, so every seed trains on the same labels (docs/data.md, "Data variants").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

#: The prefixes of a workload's training and validation arrays in ``data``.
SPLITS = ("train_", "valid_")


@attrs.frozen
class Labels:
    """The class labels of a workload's arrays, which label noise replaces: ``train_<key>``
    and ``valid_<key>`` hold classes in ``[0, classes)`` (2: binary targets, one per task
    where they have a task axis)."""

    classes: int
    key: str = "labels"
    #: Arrays ``<split>_<mask>`` saying which entries are present (OGBG's missing labels):
    #: only present entries are replaced.
    mask: str | None = None
    #: Arrays ``<split>_<probs>`` of each example's true probability of label 1 (criteo's
    #: validation clicks): they become the noisy labels' probability.
    probs: str | None = None


def vary_data(
    data: Mapping[str, Any],
    labels: Labels | None,
    train_rows: int | None,
    label_noise: float,
    name: str,
) -> dict[str, np.ndarray]:
    """``data`` (arrays ``train_*``, ``valid_*`` and others, rows on the first axis) with
    every training array cut to its first ``train_rows`` rows (None: all) and a share
    ``label_noise`` of the train and validation ``labels`` replaced by uniform random
    classes (a replaced label may keep its class: it differs with probability
    ``label_noise * (classes - 1) / classes``). The draws come from ``name`` (the dataset)
    and are made over each whole split before cutting, so the labels of ``train_rows = N``
    are the first N of the whole set's and the validation labels do not depend on it; a
    larger noise replaces a superset of a smaller one's labels, with the same classes."""
    out = {key: np.asarray(value) for key, value in data.items()}
    if label_noise:
        if labels is None:
            raise ValueError(f"{name}: label_noise {label_noise:g} needs class labels; it has none")
        for split in SPLITS:
            _replace_labels(out, split, labels, label_noise, name)
    if train_rows is not None:
        train = {key: len(value) for key, value in out.items() if key.startswith(SPLITS[0])}
        if train_rows > min(train.values()):
            found = ", ".join(f"{k} {n}" for k, n in train.items())
            raise ValueError(f"{name}: train_rows {train_rows} exceeds the training rows ({found})")
        for key in train:
            out[key] = out[key][:train_rows]
    return out


def _replace_labels(
    out: dict[str, np.ndarray], split: str, labels: Labels, noise: float, name: str
) -> None:
    """Replace a share ``noise`` of ``out[split + labels.key]`` (present entries) in place."""
    values = out[split + labels.key]
    rng = np.random.default_rng(_seed(f"{name}/{split}{labels.key}"))
    drawn = rng.random(values.shape)
    classes = rng.integers(0, labels.classes, values.shape)
    replace = drawn < noise
    if labels.mask is not None:
        replace &= out[split + labels.mask].astype(bool)
    out[split + labels.key] = np.where(replace, classes, values).astype(values.dtype)
    if labels.probs is not None and split + labels.probs in out:
        probs = out[split + labels.probs]
        out[split + labels.probs] = ((1 - noise) * probs + noise / 2).astype(probs.dtype)


def _seed(text: str) -> int:
    """A stable 64-bit seed of ``text`` (Python's ``hash`` varies between processes)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def with_data_variant(workload: Any, train_rows: int | None = None, label_noise: float = 0.0):
    """The built ``workload`` training on its data variant (:func:`vary_data` of its
    in-memory arrays, its ``class_labels``, seeded by its name and size); the workload
    itself when neither is set. A workload that streams or reads user arrays is refused."""
    if train_rows is None and not label_noise:
        return workload
    name = f"{workload.info.name}/{workload.size}"
    arrays = getattr(workload, "data", None)
    if (
        getattr(workload, "reader", None) is not None
        or not arrays
        or not all(isinstance(a, np.ndarray) for a in arrays.values())
    ):
        raise ValueError(
            f"{name}: train_rows and label_noise apply to the data hpbench generates "
            f"(sizes {', '.join(s for s in workload.info.train_rows)}), not to data read "
            "from files: cut or noise your own data before importing it"
        )
    data = vary_data(arrays, workload.class_labels, train_rows, label_noise, name)
    return attrs.evolve(workload, data=data)
