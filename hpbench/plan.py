"""Plan: a spec expanded into Trials, each identified by the hash of its canonical form.

A Trial holds everything that affects training and nothing else (checkpoint cadence,
results directory and runner live elsewhere), so two specs that share a trial share its
result and a changed spec reruns only what changed. Its target is part of its identity only
when it stops training (``stop_at_target``): otherwise the target is a scoring parameter, and
new targets re-score the curves already trained instead of retraining them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from hpbench.config.errors import type_name
from hpbench.config.values import Interval, as_integer
from hpbench.direction import DIRECTIONS, best_of, sign

#: Bumped when the meaning of a trial's fields changes, so old results are not reused.
TRIAL_FORMAT = 1

#: The name an algorithm's trials hash under where it is not its own: TRIAL_FORMAT for one
#: algorithm. ``nadamw`` named AlgoPerf's baseline rule until it became Optax's (issue 17).
#: AlgoPerf's rule, now ``nadamw_algoperf``, keeps the ids those trials had, so a store
#: trained then stays valid under its new name; Optax's ``nadamw`` hashes under a name no
#: algorithm can take, so an old ``nadamw`` result is never reused as Optax's.
ID_NAMES = {"nadamw_algoperf": "nadamw", "nadamw": "nadamw (optax)"}
#: Old name -> new name of a renamed algorithm: a stored trial under the old name whose id
#: is the renamed trial's (written before the rename) is read back under the new name.
RENAMED = {"nadamw": "nadamw_algoperf"}

Scalar = float | int | bool | str

#: The shares of labels a data variant may replace (``Trial.label_noise``).
LABEL_NOISE = Interval(0.0, 1.0, high_open=True)
#: Fields written into a trial's canonical form and id only when set (0 or None: left out),
#: so that the ids of trials from before each field existed stay valid.
UNSET_LEFT_OUT = ("workload_revision", "train_rows", "label_noise", "width")
#: The most a spec may widen a model (``Trial.width``): 16x takes the mini LibriSpeech models'
#: 32 features to the full models' 512.
MAX_WIDTH = 16


def _frozen_mapping(value: Mapping[str, Scalar] | None) -> tuple[tuple[str, Scalar], ...]:
    """Normalise a mapping into a sorted tuple of pairs (hashable, order-independent)."""
    if type(value) is tuple:  # normalised already (the common case: no ABC check)
        return value
    return tuple(sorted((value or {}).items())) if isinstance(value, Mapping | None) else value


def _integer(name: str) -> Callable[[Any], int]:
    """The converter of the integer field ``name``: an integer of any type (numpy's) becomes
    the plain int, so the trial's id is the plain int's; a bool or a float is refused."""

    def convert(value: Any) -> int:
        if type(value) is int:  # the common case, first: 100,000-trial plans build each
            return value
        number = as_integer(value)
        if type(number) is not int:
            found = f"{value} ({type_name(value)})"
            raise TypeError(f"Trial.{name}: expected an integer, found {found}")
        return number

    return convert


def _rows(value: Any) -> int | None:
    """``Trial.train_rows``: None, or an integer >= 1 as a plain int."""
    if value is None:
        return None
    number = _integer("train_rows")(value)
    if number < 1:
        raise ValueError(f"Trial.train_rows: expected an integer >= 1, found {number}")
    return number


def _width(value: Any) -> int | None:
    """``Trial.width``: None (the registered model), or a multiplier in [2, MAX_WIDTH] as a
    plain int; 1 is the registered model, so it becomes None (the same trial, the same id)."""
    if value is None:
        return None
    number = _integer("width")(value)
    if not 1 <= number <= MAX_WIDTH:
        raise ValueError(f"Trial.width: expected an integer in [1, {MAX_WIDTH}], found {number}")
    return None if number == 1 else number


def _noise(value: Any) -> float:
    """``Trial.label_noise``: a share of labels in LABEL_NOISE, as a plain float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Trial.label_noise: expected a number, found {type_name(value)}")
    if not LABEL_NOISE.contains(float(value)):
        raise ValueError(f"Trial.label_noise: expected a share in {LABEL_NOISE}, found {value}")
    return float(value)


@attrs.frozen(cache_hash=True)  # a dict key of every served trial's reaches, several times
class Target:
    """The validation target of a workload: ``metric`` reaches ``value`` in ``direction``."""

    metric: str
    value: float
    direction: str = attrs.field(validator=attrs.validators.in_(DIRECTIONS))

    def reached(self, measured: float) -> bool:
        """True when ``measured`` is at or beyond the target; NaN never counts. The one
        definition of reaching a target: training (stop at target) and scoring use it."""
        return not math.isnan(measured) and self.shortfall(measured) <= 0

    def shortfall(self, measured: float) -> float:
        """How far ``measured`` falls short of the target, in the metric's units: positive
        where it misses, negative where it passes, 0 on the target itself."""
        return sign(self.direction) * (measured - self.value)

    def best(self, values: Iterable[float]) -> float:
        """The best of ``values`` in the target's direction; NaN when none is a number."""
        kept = [v for v in values if not math.isnan(v)]
        if not kept:
            return math.nan
        return best_of(self.direction)(kept)


@attrs.frozen
class Trial:
    """One training run: a workload, an algorithm point, a schedule, a horizon and a seed."""

    workload: str
    size: str
    variant: str  # "base" or a held-out variant name
    algorithm: str
    hyperparameters: tuple[tuple[str, Scalar], ...] = attrs.field(converter=_frozen_mapping)
    schedule: str  # shape name, see hpbench.schedules
    warmup: float  # fraction of the horizon
    horizon: float  # f in T = f * max_steps
    max_steps: int = attrs.field(converter=_integer("max_steps"))
    batch_size: int = attrs.field(converter=_integer("batch_size"))
    seed: int = attrs.field(converter=_integer("seed"))
    eval_every: int = attrs.field(converter=_integer("eval_every"))  # steps
    target: Target
    stop_at_target: bool = False
    options: tuple[tuple[str, Scalar], ...] = attrs.field(
        default=(), converter=_frozen_mapping
    )  # static algorithm structure, e.g. mechanic's base optimizer
    data: str | None = None  # path of user-supplied data (size "full")
    #: The workload definition's revision at this size (``WorkloadInfo.revision``): part of
    #: the id only when non-zero, so changing a workload reruns its trials and no other's.
    workload_revision: int = attrs.field(default=0, converter=_integer("workload_revision"))
    #: The data variant (hpbench.workloads.data_variant): the first ``train_rows`` training
    #: rows (None: all), a share ``label_noise`` of train and validation labels replaced.
    #: Each is part of the id only when set.
    train_rows: int | None = attrs.field(default=None, converter=_rows)
    label_noise: float = attrs.field(default=0.0, converter=_noise)
    #: The model's widths times this (``WorkloadInfo.widens``; None: the registered model);
    #: part of the id only when set.
    width: int | None = attrs.field(default=None, converter=_width)

    @functools.cached_property
    def horizon_steps(self) -> int:
        """T = round(f * max_steps), at least 1 (read several times per trial in scoring)."""
        return max(1, round(self.horizon * self.max_steps))

    @property
    def data_variant(self) -> str:
        """What the trial changes in the registered workload, in words ("2048 rows, label
        noise 0.2, width 2"): its data variant and its model's width; "" for neither."""
        parts = [] if self.train_rows is None else [f"{self.train_rows} rows"]
        if self.label_noise:
            parts.append(f"label noise {self.label_noise:g}")
        if self.width is not None:
            parts.append(f"width {self.width}")
        return ", ".join(parts)

    @property
    def size_label(self) -> str:
        """The size with its data variant, as a pool that mixes them keys the workload
        ("mini (2048 rows, label noise 0.2)"); the size alone without one."""
        variant = self.data_variant
        return f"{self.size} ({variant})" if variant else self.size

    @property
    def params(self) -> dict[str, Scalar]:
        """The algorithm's hyperparameters as a dict."""
        return dict(self.hyperparameters)

    def canonical(self) -> dict[str, Any]:
        """The JSON-ready canonical form: sorted keys, numbers as floats where they are reals."""
        # by hand: attrs.asdict and a generic walk took most of the time of hashing a
        # 100,000-trial plan; the result is canonical_json_value's of the same fields
        data: dict[str, Any] = {}
        for name in _PLAIN_FIELDS:  # _plain, inlined: this loop runs once per field per trial
            value = getattr(self, name)
            data[name] = value if type(value) in _SCALARS else canonical_json_value(value)
        data["format"] = TRIAL_FORMAT
        data["hyperparameters"] = _plain_mapping(self.hyperparameters)
        data["options"] = _plain_mapping(self.options)
        target = self.target
        data["target"] = {
            "direction": _plain(target.direction),
            "metric": _plain(target.metric),
            "value": _plain(target.value),
        }
        for name in UNSET_LEFT_OUT:
            if not data[name]:
                del data[name]
        return dict(sorted(data.items()))

    @functools.cached_property
    def id(self) -> str:
        """A short content hash of what trains: :meth:`canonical`, less the target unless
        training stops there, the algorithm under its ``ID_NAMES`` name. Trials that train
        the same have equal ids."""
        parts = _id_parts(self)
        if parts is None:  # a value that is no plain JSON scalar: the generic route
            identity = self.canonical()
            identity["algorithm"] = ID_NAMES.get(self.algorithm, self.algorithm)
            if not self.stop_at_target:
                del identity["target"]
            return _hash(json.dumps(identity, sort_keys=True, separators=(",", ":")))
        return _hash(f"{parts[0]}{parts[1]}{parts[2]}")

    def with_seeds(self, seeds: Iterable[int]) -> list[Trial]:
        """This trial with each of ``seeds`` in turn, their ids hashed from this trial's id
        JSON with only the seed rewritten (a plan's trials differ mostly in their seed:
        writing each one's JSON whole was most of the time to compile 100,000 trials); the
        text before the seed is hashed once, each id continues a copy of that hash."""
        parts = _id_parts(self)
        before = None if parts is None else hashlib.sha256(parts[0].encode())
        fields = {name: getattr(self, name) for name in _INIT_FIELDS}
        trials = []
        for seed in seeds:
            fields["seed"] = seed
            trial = Trial(**fields)  # attrs.evolve, without its per-call field lookups
            if before is not None:  # else Trial.id hashes it on use
                digest = before.copy()  # the seed is a plain int here: Trial converted it
                digest.update(f"{int.__repr__(trial.seed)}{parts[2]}".encode())
                object.__setattr__(trial, "id", digest.hexdigest()[:16])
            trials.append(trial)
        return trials

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Trial:
        """Rebuild a Trial from :meth:`canonical` output (as written to ``trial.json``); a
        trial stored under an algorithm's old name (see ``RENAMED``) comes back renamed."""
        fields = {k: v for k, v in data.items() if k not in ("format", "id")}
        fields["target"] = Target(**fields["target"])
        fields["hyperparameters"] = dict(fields["hyperparameters"])
        fields["options"] = dict(fields.get("options", {}))
        trial = cls(**fields)
        stored_id = data.get("id")
        if trial.algorithm in RENAMED and stored_id not in (None, trial.id):
            renamed = attrs.evolve(trial, algorithm=RENAMED[trial.algorithm])
            if renamed.id == stored_id:
                return renamed
        return trial


#: Trial's fields, as its ``__init__`` takes them.
_INIT_FIELDS = tuple(f.name for f in attrs.fields(Trial))
#: The fields :meth:`Trial.canonical` copies as they are.
_PLAIN_FIELDS = tuple(
    f.name for f in attrs.fields(Trial) if f.name not in ("hyperparameters", "options", "target")
)


_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    return value if type(value) in _SCALARS else canonical_json_value(value)


def _plain_mapping(pairs: tuple[tuple[str, Scalar], ...]) -> dict[str, Any]:
    return {str(k): _plain(v) for k, v in sorted(pairs)}


def _hash(blob: str) -> str:
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


#: ``json.dumps(value, sort_keys=True, separators=(",", ":"))``, the JSON ids hash, without
#: its per-call setup (the encoder is C).
_id_json = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
#: What stands for the seed in the id's JSON, to be cut out (found once, or no parts).
_SEED_MARK = "\x00seed"
_SEED_JSON = _id_json(_SEED_MARK)


def _plain_dict(pairs: tuple[tuple[str, Scalar], ...]) -> dict[str, Scalar] | None:
    """``pairs`` as a dict, when its keys are distinct strings and its values plain scalars."""
    data = dict(pairs)
    if len(data) != len(pairs):
        return None
    for key, value in data.items():
        if type(key) is not str or type(value) not in _SCALARS:
            return None
    return data


def _id_parts(trial: Trial) -> tuple[str, str, str] | None:
    """The JSON that :attr:`Trial.id` hashes (``json.dumps`` of the identity, keys sorted,
    compact) as the text before the seed's value, that value and the text after it, so a
    plan's seeds share one encoding (most of the time to hash a 100,000-trial plan). None
    when a value is no plain scalar (the generic route then: :meth:`Trial.canonical`)."""
    identity: dict[str, Any] = {}
    for name in _PLAIN_FIELDS:
        value = getattr(trial, name)
        if type(value) not in _SCALARS:
            return None
        identity[name] = value
    identity["format"] = TRIAL_FORMAT
    identity["algorithm"] = ID_NAMES.get(trial.algorithm, trial.algorithm)
    for name in ("hyperparameters", "options"):
        identity[name] = _plain_dict(getattr(trial, name))
        if identity[name] is None:
            return None
    if trial.stop_at_target:
        target = trial.target
        pairs = (("direction", target.direction), ("metric", target.metric))
        identity["target"] = _plain_dict((*pairs, ("value", target.value)))
        if identity["target"] is None:
            return None
    for name in UNSET_LEFT_OUT:
        if not identity[name]:
            del identity[name]
    seed = identity["seed"]
    identity["seed"] = _SEED_MARK
    before, found, after = _id_json(identity).partition(_SEED_JSON)
    if not found or _SEED_JSON in after:
        return None
    return before, int.__repr__(seed) if type(seed) is int else _id_json(seed), after


def point_key(trial: Trial) -> tuple:
    """What identifies a trial's point: everything but its workload, seed and target."""
    return (
        trial.algorithm,
        trial.hyperparameters,
        trial.options,
        trial.schedule,
        trial.warmup,
        trial.horizon,
    )


def canonical_json_value(value: Any) -> Any:
    """Sort mappings and turn tuples into lists, so equal values serialise equally.

    Numeric types are fixed earlier, by the compiler, from each hyperparameter's declared
    type (``learning_rate = 1`` becomes ``1.0``), so ``1e-3`` and ``0.001`` hash the same.
    """
    if isinstance(value, Mapping):
        return {str(k): canonical_json_value(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [canonical_json_value(v) for v in value]
    return value


@attrs.frozen
class Plan:
    """The trials of one spec, in a stable order."""

    name: str
    trials: tuple[Trial, ...]
    description: str = ""
    owner: str = ""
    source: str = ""  # the spec file it was compiled from
    checkpoint_seconds: float | None = None  # checkpoint cadence; None: the engine's default
