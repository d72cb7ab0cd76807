"""The compiled training program of one job: K members vmapped, jitted on a device mesh.

The train step of one member (loss, gradients, optimizer update built from the member's
traced packable hyperparameters) is ``jax.vmap``-ed over the member axis, and several steps
are fused per dispatch with ``lax.scan``. A member whose training loss is not finite is
frozen (its updates are masked) and marked diverged at that step; the others go on.

Sharding: a 1-D ``Mesh`` over the devices (those of every process, in a multi-host job)
with a ``data`` axis; each batch is split along it and the training state is replicated
(:func:`state_shardings` is where FSDP would shard parameters instead).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from hpbench.plan import Trial
from hpbench.train.job import packed_values, static_hyperparameters
from hpbench.train.optim import member_eval_params, member_optimizer
from hpbench.workloads.base import Workload

DATA_AXIS = "data"

State = dict[str, Any]


def make_mesh(devices: Sequence[Any], batch_size: int) -> Mesh:
    """A data-parallel mesh over as many of ``devices`` as evenly divide the batch."""
    usable = max(d for d in range(1, len(devices) + 1) if batch_size % d == 0)
    return Mesh(np.asarray(devices[:usable]), (DATA_AXIS,))


def state_shardings(mesh: Mesh, abstract_state: State) -> State:
    """Every leaf of the training state replicated over the mesh.

    This is the one place to change for FSDP: return ``P(DATA_AXIS)`` (or a model-specific
    spec) for large parameter and optimizer-state leaves instead.
    """
    replicated = NamedSharding(mesh, P())
    return jax.tree.map(lambda _: replicated, abstract_state)


def batch_shardings(mesh: Mesh, batches: Any) -> Any:
    """Stacked batches ``(steps, batch, ...)`` split along the batch axis over ``data``
    (leaves whose second axis does not divide evenly are replicated)."""
    size = mesh.shape[DATA_AXIS]

    def spec(leaf: Any) -> NamedSharding:
        shape = np.shape(leaf)
        if len(shape) >= 2 and shape[1] % size == 0:
            return NamedSharding(mesh, P(None, DATA_AXIS))
        return NamedSharding(mesh, P())

    return jax.tree.map(spec, batches)


def member_values(trials: Sequence[Trial]) -> dict[str, np.ndarray]:
    """The members' packable values stacked along a leading member axis."""
    rows = [packed_values(t) for t in trials]
    return {k: np.asarray([r[k] for r in rows], dtype=_dtype(rows[0][k])) for k in rows[0]}


def _dtype(value: float | int) -> Any:
    return np.int32 if isinstance(value, int) and not isinstance(value, bool) else np.float32


def _abstract(shape: Sequence[int], dtype: Any, sharding: Any) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(
        tuple(shape), jax.dtypes.canonicalize_dtype(dtype), sharding=sharding
    )


def _select(ok: jax.Array, new: Any, old: Any) -> Any:
    """``new`` where ``ok`` (per member, the leading axis), else ``old``."""

    def pick(n: jax.Array, o: jax.Array) -> jax.Array:
        return jnp.where(ok.reshape(ok.shape + (1,) * (n.ndim - 1)), n, o)

    return jax.tree.map(pick, new, old)


class Program:
    """Init, fused train chunks, member slices and evaluation for one job's members."""

    def __init__(self, workload: Workload, lead: Trial, num_members: int, mesh: Mesh):
        self.workload = workload
        self.lead = lead
        self.num_members = num_members
        self.mesh = mesh
        static = static_hyperparameters(lead)
        self.dropout = float(static.get("dropout", 0.0))
        self.label_smoothing = float(static.get("label_smoothing", 0.0))
        base = jax.random.key(lead.seed)
        self.init_key = jax.random.fold_in(base, 0)
        self.step_key = jax.random.fold_in(base, 1)

        self.replicated = NamedSharding(mesh, P())
        values = member_values([lead] * num_members)
        self.abstract_state = jax.eval_shape(self._init, values)
        self.state_shardings = state_shardings(mesh, self.abstract_state)
        self._sample_batch = jax.tree.map(
            lambda x: np.expand_dims(x, 0), workload.batch(lead.seed, 0)
        )
        self.batch_shardings = batch_shardings(mesh, self._sample_batch)
        self._compiled: dict[int, Any] = {}
        donate = () if mesh.devices.flat[0].platform == "cpu" else (0,)
        self._init_jit = jax.jit(
            self._init, in_shardings=(self.replicated,), out_shardings=self.state_shardings
        )
        self._eval_inputs_jit = jax.jit(self._eval_inputs)
        self._chunk_jit = jax.jit(
            self._chunk,
            in_shardings=(
                self.state_shardings,
                self.replicated,
                self.batch_shardings,
                self.replicated,
            ),
            out_shardings=self.state_shardings,
            donate_argnums=donate,
        )

    # --- pure pieces -------------------------------------------------------------------

    def _init(self, values: Mapping[str, jax.Array]) -> State:
        params, model_state = self.workload.init(self.init_key)
        k = self.num_members

        def stack(x: jax.Array) -> jax.Array:
            return jnp.broadcast_to(x, (k, *jnp.shape(x)))

        opt_state = jax.vmap(lambda v: member_optimizer(self.lead, v).init(params))(values)
        return {
            "params": jax.tree.map(stack, params),
            "opt_state": opt_state,
            "model_state": jax.tree.map(stack, model_state),
            "active": jnp.ones(k, bool),
            "diverged_step": jnp.full(k, -1, jnp.int32),
            "loss_sum": jnp.zeros(k, jnp.float32),
            "loss_count": jnp.zeros(k, jnp.int32),
        }

    def _member_step(self, params, opt_state, model_state, values, batch, rng):
        label_smoothing = values.get("label_smoothing", self.label_smoothing)

        def loss_fn(p):
            return self.workload.loss(
                p, model_state, batch, rng, dropout=self.dropout, label_smoothing=label_smoothing
            )

        (loss, new_model_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        tx = member_optimizer(self.lead, values)
        updates, new_opt_state = tx.update(grads, opt_state, params, value=loss)
        return optax.apply_updates(params, updates), new_opt_state, new_model_state, loss

    def _all_members(self, step: Any) -> Any:
        """``step`` over the member axis: ``jax.vmap``, or for a single member a plain call
        (vmap's batched gathers and scatters cost up to 1.7x on embedding models on CPU)."""
        if self.num_members > 1:
            return jax.vmap(step, in_axes=(0, 0, 0, 0, None, None))

        def single(params, opt_state, model_state, values, batch, rng):
            first = (params, opt_state, model_state, values)
            out = step(*jax.tree.map(lambda x: x[0], first), batch, rng)
            return jax.tree.map(lambda x: jnp.expand_dims(x, 0), out)

        return single

    def _chunk(self, state: State, values, batches, start_step: jax.Array) -> State:
        """Fused steps. Members train unmasked inside the chunk (a per-step select over every
        parameter costs more than a small model's step); at its end a member that was
        inactive, or whose loss turned non-finite, gets its chunk-start state back. Members
        are independent under vmap, so this changes nothing for the others."""
        step_all = self._all_members(self._member_step)
        trained = ("params", "opt_state", "model_state")

        def body(carry: State, xs: tuple[Any, jax.Array]) -> tuple[State, None]:
            batch, step = xs
            rng = jax.random.fold_in(self.step_key, step)
            *new, loss = step_all(*(carry[k] for k in trained), values, batch, rng)
            finite = jnp.isfinite(loss)
            ok = carry["active"] & finite
            return {
                **dict(zip(trained, new, strict=True)),
                "active": ok,
                "diverged_step": jnp.where(carry["active"] & ~finite, step, carry["diverged_step"]),
                "loss_sum": carry["loss_sum"] + jnp.where(ok, loss, 0.0),
                "loss_count": carry["loss_count"] + ok.astype(jnp.int32),
            }, None

        length = jax.tree.leaves(batches)[0].shape[0]
        if length == 1:  # a plain step: XLA's CPU backend runs convolutions inside a scan
            # (even of one step, even unrolled) about 10x slower than outside one
            end, _ = body(state, (jax.tree.map(lambda x: x[0], batches), start_step))
        else:
            steps = start_step + jnp.arange(length, dtype=jnp.int32)
            end, _ = jax.lax.scan(body, state, (batches, steps))
        kept = _select(end["active"], {k: end[k] for k in trained}, {k: state[k] for k in trained})
        return {**end, **kept}

    def steps_per_dispatch(self, requested: int) -> int:
        """Steps fused per dispatch: ``requested``, but one plain step for a convolutional
        model on CPU (see ``_chunk``)."""
        convolutional = self.workload.info.convolutional
        return 1 if convolutional and jax.default_backend() == "cpu" else requested

    # --- host side ---------------------------------------------------------------------

    def init(self, values: Mapping[str, np.ndarray]) -> State:
        """The members' initial state (same initial parameters: they share the seed)."""
        return self._init_jit(values)

    def batches(self, start: int, count: int) -> Any:
        """The training batches of steps ``start .. start+count-1``, stacked (host arrays:
        the compiled chunk places them with its input shardings)."""
        items = [self.workload.batch(self.lead.seed, s) for s in range(start, start + count)]
        return jax.tree.map(lambda *xs: np.stack(xs), *items)

    def compile(self, count: int) -> None:
        """Compile the fused chunk of ``count`` steps ahead of time, from shapes only."""
        if count in self._compiled:
            return
        batches = jax.tree.map(
            lambda x, s: _abstract((count, *np.shape(x)[1:]), x.dtype, s),
            self._sample_batch,
            self.batch_shardings,
        )
        state = jax.tree.map(
            lambda x, s: _abstract(x.shape, x.dtype, s), self.abstract_state, self.state_shardings
        )
        values = jax.tree.map(
            lambda x: _abstract(x.shape, x.dtype, self.replicated),
            member_values([self.lead] * self.num_members),
        )
        step = _abstract((), np.int32, self.replicated)
        self._compiled[count] = self._chunk_jit.lower(state, values, batches, step).compile()

    def train(self, state: State, values: Any, start: int, count: int) -> State:
        """Dispatch ``count`` fused steps from step ``start`` (asynchronously)."""
        self.compile(count)
        batches = self._global(self.batches(start, count))
        return self._compiled[count](state, values, batches, np.int32(start))

    def _global(self, batches: Any) -> Any:
        """Host batches as global arrays when the mesh spans several processes (JAX takes
        host arrays only for replicated inputs there); each process holds the same full
        batches, the data being a function of (seed, step). Alone: the host arrays."""
        if jax.process_count() == 1:
            return batches
        return jax.tree.map(
            lambda x, s: jax.make_array_from_callback(x.shape, s, lambda index: x[index]),
            batches,
            self.batch_shardings,
        )

    def place(self, tree: Any) -> Any:
        """Put host values (hyperparameters, masks) on the mesh, replicated."""
        return jax.device_put(tree, self.replicated)

    def _eval_inputs(self, state: State, index: jax.Array) -> tuple[Any, Any]:
        member = jax.tree.map(lambda x: x[index], state)
        params = member_eval_params(self.lead, member["params"], member["opt_state"])
        return params, member["model_state"]

    def evaluate(self, state: State, index: int) -> dict[str, float]:
        """Every validation metric of member ``index`` (at its evaluation parameters)."""
        params, model_state = self._eval_inputs_jit(state, np.int32(index))
        return self.workload.evaluate(params, model_state)


#: Programs built recently, by (pack key, members, devices): the jobs of a search share one
#: compiled program instead of compiling it again for every pack.
_PROGRAMS: dict[tuple, Program] = {}
_PROGRAMS_KEPT = 4


def program_for(lead: Trial, num_members: int, devices: Sequence[Any]) -> Program:
    """The (cached) program of a job led by ``lead`` with ``num_members`` members."""
    from hpbench.train.job import pack_key
    from hpbench.workloads.registry import load_workload

    key = (pack_key(lead), num_members, tuple(d.id for d in devices))
    if key not in _PROGRAMS:
        workload = load_workload(
            lead.workload, lead.size, lead.variant, lead.data, batch_size=lead.batch_size
        )
        while len(_PROGRAMS) >= _PROGRAMS_KEPT:
            _PROGRAMS.pop(next(iter(_PROGRAMS)))
        _PROGRAMS[key] = Program(workload, lead, num_members, make_mesh(devices, lead.batch_size))
    return _PROGRAMS[key]
