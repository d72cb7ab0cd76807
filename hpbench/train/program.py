"""The compiled training program of one job: K members vmapped, jitted on a device mesh.

The train step of one member (loss, gradients, optimizer update built from the member's
traced packable hyperparameters) is ``jax.vmap``-ed over the member axis, and several steps
are fused per dispatch with ``lax.scan``. A member whose training loss is not finite is
frozen (its updates are masked) and marked diverged at that step; the others go on.

Sharding: a 2-D ``Mesh`` over the devices (those of every process, in a multi-host job)
with a ``members`` axis and a ``data`` axis. Members are spread over the ``members`` axis
(independent trials: no communication between their devices), each batch is split along
``data``, and within a member group the training state is replicated, except the
parameters a workload names ``row_sharded`` (and their optimizer state), split by rows over
``data`` (:func:`state_shardings`). Evaluation is data-parallel too: each member group
splits the evaluation batches over its ``data`` devices.

Input: each process reads only its rows of every global batch (the streaming readers take
``jax.process_index()``'s share) and the global arrays are assembled from the processes'
parts; the next chunk's batches are read and put on the devices while a chunk trains.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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
from hpbench.workloads.base import Workload, evaluating_on

MEMBER_AXIS = "members"
DATA_AXIS = "data"

State = dict[str, Any]

#: Compiles chunk programs in the background, so that a job's first chunk compiles while
#: the host compiles and runs the members' initialisation (XLA compiles a program on one
#: core and releases the GIL meanwhile).
_COMPILER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hpbench-compile")


def make_mesh(devices: Sequence[Any], batch_size: int, num_members: int = 1) -> Mesh:
    """A (members, data) mesh: the members spread over as many of ``devices`` as evenly
    divide them, each member group's batch split over as many of the rest as divide it.
    Members go first: they need no communication, a split batch needs an all-reduce. A
    multi-host job keeps every member on every host (only process 0 reads members out)."""
    single_process = len({d.process_index for d in devices}) == 1
    members = _largest_divisor(num_members, len(devices)) if single_process else 1
    data = _largest_divisor(batch_size, len(devices) // members)
    grid = np.asarray(devices[: members * data]).reshape(members, data)
    return Mesh(grid, (MEMBER_AXIS, DATA_AXIS))


def local_devices_for(num_members: int) -> list[Any]:
    """The devices of this process a job of ``num_members`` trains on: all of them, except
    on CPU, whose devices are the cores of one host: there members spread over them and a
    batch is not split (an all-reduce between cores costs more than it saves)."""
    devices = jax.local_devices()
    if devices[0].platform == "cpu":
        return devices[: _largest_divisor(num_members, len(devices))]
    return devices


def _largest_divisor(number: int, limit: int) -> int:
    """The largest divisor of ``number`` that is at most ``limit``."""
    return max(d for d in range(1, max(1, min(number, limit)) + 1) if number % d == 0)


def state_shardings(mesh: Mesh, abstract_state: State, row_sharded: Sequence[str] = ()) -> State:
    """Every leaf of the training state (member axis first) split over the ``members``
    axis and replicated over ``data``, except the parameters named in ``row_sharded`` and
    the optimizer-state leaves that mirror them (same name, same shape), which are split by
    rows over ``data`` too when their rows divide evenly.

    This is the one place to change for FSDP: shard more leaves over ``data``.
    """
    by_member = NamedSharding(mesh, P(MEMBER_AXIS))
    by_rows = NamedSharding(mesh, P(MEMBER_AXIS, DATA_AXIS))
    size = mesh.shape[DATA_AXIS]
    params = jax.tree_util.tree_leaves_with_path(abstract_state["params"])
    shapes = {(_name(path), leaf.shape) for path, leaf in params if _name(path) in row_sharded}

    def sharding(path: Any, leaf: Any) -> NamedSharding:
        split = leaf.ndim >= 2 and leaf.shape[1] % size == 0
        return by_rows if split and (_name(path), leaf.shape) in shapes else by_member

    return jax.tree_util.tree_map_with_path(sharding, abstract_state)


def _name(path: Sequence[Any]) -> str:
    """The last key of a pytree path (a parameter's name in flax's nested dicts)."""
    last = path[-1] if path else None
    return str(getattr(last, "key", getattr(last, "name", "")))


def batch_shardings(mesh: Mesh, batches: Any) -> Any:
    """Stacked batches ``(steps, batch, ...)`` (global shapes) split along the batch axis
    over ``data`` (leaves whose second axis does not divide evenly are replicated)."""
    size = mesh.shape[DATA_AXIS]

    def spec(leaf: Any) -> NamedSharding:
        shape = np.shape(leaf)
        if len(shape) >= 2 and shape[1] % size == 0:
            return NamedSharding(mesh, P(None, DATA_AXIS))
        return NamedSharding(mesh, P())

    return jax.tree.map(spec, batches)


def global_shape(shape: Sequence[int], batch_size: int, processes: int) -> tuple[int, ...]:
    """The global shape of a leaf of stacked host batches ``(steps, rows, ...)``: a leaf
    of ``batch_size / processes`` rows holds this process's rows (the streaming readers
    read one host's share), so its global batch has ``batch_size`` rows; any other leaf is
    the same whole array on every process."""
    shape = tuple(shape)
    if processes > 1 and len(shape) >= 2 and shape[1] == batch_size // processes:
        return (shape[0], batch_size, *shape[2:])
    return shape


def check_host_rows(shardings: Any, batches: Any, batch_size: int, shard: Any = None) -> None:
    """Raise unless this process's devices hold exactly the rows its readers read
    (``shard``, by default ``hpbench.data.stream.host_shard()``: rows ``[p n, (p + 1) n)``
    of process ``p``); a batch replicated on every device must then be read whole."""
    from hpbench.data.stream import host_shard

    first, count = (shard or host_shard()).rows(batch_size)
    for sharding, leaf in zip(jax.tree.leaves(shardings), jax.tree.leaves(batches), strict=True):
        shape = leaf.shape
        if len(shape) < 2 or shape[1] != batch_size:
            continue
        if sharding.spec == P():
            if count != batch_size:
                raise RuntimeError(
                    f"a batch of {batch_size} rows is replicated on every device (it does not"
                    " split over the mesh's data axis), but each process reads only"
                    f" {count} of its rows: choose a batch size (OGBG: a shard count) that"
                    " the mesh's data axis divides"
                )
            continue
        here = [
            index[1].indices(batch_size)[:2]
            for device, index in sharding.devices_indices_map(shape).items()
            if device.process_index == jax.process_index()
        ]
        span = (min(a for a, _ in here), max(b for _, b in here))
        if span != (first, first + count):
            raise RuntimeError(
                f"process {jax.process_index()} reads rows {first}..{first + count - 1} of each"
                f" batch of {batch_size}, but its devices hold rows {span[0]}..{span[1] - 1}:"
                " the mesh must list each process's devices together, in process order"
                " (jax.devices() does)"
            )


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
        self.by_member = NamedSharding(mesh, P(MEMBER_AXIS))
        values = member_values([lead] * num_members)
        self.abstract_state = jax.eval_shape(self._init, values)
        self.state_shardings = state_shardings(mesh, self.abstract_state, workload.row_sharded)
        sample = jax.tree.map(lambda x: np.expand_dims(x, 0), workload.batch(lead.seed, 0))
        self._processes = len({d.process_index for d in mesh.devices.flat})
        self.abstract_batch = jax.tree.map(
            lambda x: jax.ShapeDtypeStruct(self._global_shape(x), x.dtype), sample
        )
        self.batch_shardings = batch_shardings(mesh, self.abstract_batch)
        if self._processes > 1:
            check_host_rows(self.batch_shardings, self.abstract_batch, workload.global_rows)
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hpbench-input")
        self._ahead: tuple[int, int, Future] | None = None  # (start, count, batches)
        self._compiled: dict[int, Future] = {}
        self._compiling = threading.Lock()
        donate = () if mesh.devices.flat[0].platform == "cpu" else (0,)
        self._init_jit = jax.jit(
            self._init, in_shardings=(self.by_member,), out_shardings=self.state_shardings
        )
        self._eval_inputs_jit = jax.jit(self._eval_inputs)
        # A member is evaluated on the devices of its own member group (one core on CPU),
        # the groups side by side, each from its own block of the state: an evaluation
        # replicated over every group would be computed once per group, and slicing a
        # member out of the whole mesh makes every group wait for every other's devices.
        self._group_meshes = [
            Mesh(mesh.devices[g : g + 1], mesh.axis_names) for g in range(mesh.shape[MEMBER_AXIS])
        ]
        self._chunk_jit = jax.jit(
            self._chunk,
            in_shardings=(
                self.state_shardings,
                self.by_member,
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
        """``step`` over the member axis. Each device of the ``members`` axis runs its own
        members (``jax.shard_map``: nothing of one member is split across devices); there
        they go through ``jax.vmap``, except a single member (a plain call: vmap's batched
        gathers and scatters cost up to 1.7x on embedding models on CPU) and, on CPU, the
        members of a model without ``WorkloadInfo.vmap_on_cpu`` (one plain call each: a
        vmapped convolution is a grouped one there, 2-5x slower, and most mini models
        train faster as one member per core than vmapped)."""
        spread = self.mesh.shape[MEMBER_AXIS]
        local = self.num_members // spread
        if local > 1 and self._vmaps_members():
            on_device = jax.vmap(step, in_axes=(0, 0, 0, 0, None, None))
        else:

            def on_device(params, opt_state, model_state, values, batch, rng):
                members = (params, opt_state, model_state, values)
                outs = [
                    step(*jax.tree.map(lambda x, i=i: x[i], members), batch, rng)
                    for i in range(local)
                ]
                return jax.tree.map(lambda *xs: jnp.stack(xs), *outs)

        if spread == 1:
            return on_device
        member = P(MEMBER_AXIS)
        return jax.shard_map(
            on_device,
            mesh=self.mesh,
            in_specs=(member, member, member, member, P(), P()),
            out_specs=member,
            axis_names={MEMBER_AXIS},
            check_vma=False,  # members never communicate; models' inner scans (LSTMs)
            # start from constants, which the check would ask to mark as per-member
        )

    def _cpu_convolutional(self) -> bool:
        return self.workload.info.convolutional and jax.default_backend() == "cpu"

    def _vmaps_members(self) -> bool:
        return self.workload.info.vmap_on_cpu or jax.default_backend() != "cpu"

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
        return 1 if self._cpu_convolutional() else requested

    # --- host side ---------------------------------------------------------------------

    def init(self, values: Mapping[str, np.ndarray]) -> State:
        """The members' initial state (same initial parameters: they share the seed)."""
        return self._init_jit(values)

    def batches(self, start: int, count: int) -> Any:
        """This process's rows of the training batches of steps ``start .. start+count-1``,
        stacked (host arrays)."""
        items = [self.workload.batch(self.lead.seed, s) for s in range(start, start + count)]
        return jax.tree.map(lambda *xs: np.stack(xs), *items)

    def device_batches(self, start: int, count: int) -> Any:
        """The global batches of steps ``start .. start+count-1`` on the mesh, split with
        :attr:`batch_shardings`, each process giving its own rows."""
        batches = self.batches(start, count)
        if self._processes == 1:
            return jax.device_put(batches, self.batch_shardings)

        def put(leaf: np.ndarray, sharding: NamedSharding) -> jax.Array:
            shape = self._global_shape(leaf)
            return jax.make_array_from_process_local_data(sharding, leaf, shape)

        return jax.tree.map(put, batches, self.batch_shardings)

    def _global_shape(self, leaf: np.ndarray) -> tuple[int, ...]:
        return global_shape(np.shape(leaf), self.workload.global_rows, self._processes)

    def compile(self, count: int) -> Future:
        """Start compiling the fused chunk of ``count`` steps, ahead of time from shapes
        only, in a background thread; the future holds the executable. Once per length
        (again only after a failed attempt)."""
        with self._compiling:
            future = self._compiled.get(count)
            if future is None or (future.done() and future.exception() is not None):
                future = self._compiled[count] = _COMPILER.submit(self._compile_chunk, count)
            return future

    def _compile_chunk(self, count: int) -> Any:
        batches = jax.tree.map(
            lambda x, s: _abstract((count, *np.shape(x)[1:]), x.dtype, s),
            self.abstract_batch,
            self.batch_shardings,
        )
        state = jax.tree.map(
            lambda x, s: _abstract(x.shape, x.dtype, s), self.abstract_state, self.state_shardings
        )
        values = jax.tree.map(
            lambda x: _abstract(x.shape, x.dtype, self.by_member),
            member_values([self.lead] * self.num_members),
        )
        step = _abstract((), np.int32, self.replicated)
        return self._chunk_jit.lower(state, values, batches, step).compile()

    def train(
        self, state: State, values: Any, start: int, count: int, next_count: int = 0
    ) -> State:
        """Dispatch ``count`` fused steps from step ``start`` (asynchronously), then start
        reading the next chunk's ``next_count`` batches onto the devices (0: none)."""
        executable = self.compile(count).result()
        batches = self._input(start, count)
        out = executable(state, values, batches, np.int32(start))
        if next_count:
            future = self._reader.submit(self.device_batches, start + count, next_count)
            self._ahead = (start + count, next_count, future)
        return out

    def _input(self, start: int, count: int) -> Any:
        """Chunk ``(start, count)``'s batches on the devices: the chunk read ahead when it
        is this one (batches are a function of (seed, step), so any job of this program
        may take it), else read now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[:2] == (start, count):
            return ahead[2].result()
        return self.device_batches(start, count)

    def place(self, tree: Any) -> Any:
        """Put per-member host values (hyperparameters, masks; member axis first) on the
        mesh, split over the members axis."""
        return jax.device_put(tree, self.by_member)

    def _eval_inputs(self, state: State, index: jax.Array) -> tuple[Any, Any]:
        member = jax.tree.map(lambda x: x[index], state)
        params = member_eval_params(self.lead, member["params"], member["opt_state"])
        return params, member["model_state"]

    def evaluate(self, state: State, indices: Sequence[int]) -> dict[int, dict[str, float]]:
        """Every validation metric of each member in ``indices`` (at its evaluation
        parameters). Each member group evaluates its own members on its own devices, the
        groups in parallel threads (JAX computes without the GIL): on CPU, one core per
        group."""
        per_group = self.num_members // len(self._group_meshes)  # contiguous blocks
        groups: dict[int, list[int]] = {}
        for index in indices:
            groups.setdefault(index // per_group, []).append(index)

        spread = len(self._group_meshes) > 1
        # Blocks taken here, not in the threads: an array's shard list is not thread-safe.
        blocks = {g: self._group_block(state, g) if spread else state for g in groups}

        def evaluate_group(group: int) -> dict[int, dict[str, float]]:
            offset = group * per_group if spread else 0
            rows = NamedSharding(self._group_meshes[group], P(DATA_AXIS))
            with evaluating_on(rows):  # each batch split over the group's data devices
                return {
                    index: self.workload.evaluate(
                        *self._eval_inputs_jit(blocks[group], np.int32(index - offset))
                    )
                    for index in groups[group]
                }

        if len(groups) <= 1:
            return {i: m for g in groups for i, m in evaluate_group(g).items()}
        with ThreadPoolExecutor(max_workers=len(groups)) as pool:
            done = list(pool.map(evaluate_group, groups))
        return {i: m for group in done for i, m in group.items()}

    def _group_block(self, state: State, group: int) -> State:
        """Member group ``group``'s block of ``state`` (its members, on its devices): the
        shards it already holds, reassembled without a copy or a cross-device step (a
        leaf split by rows over ``data`` stays split)."""
        mesh = self._group_meshes[group]
        devices = set(mesh.devices.flat)

        def block(leaf: jax.Array) -> jax.Array:
            shards = [s.data for s in leaf.addressable_shards if s.device in devices]
            shape = (shards[0].shape[0], *leaf.shape[1:])
            sharding = NamedSharding(mesh, leaf.sharding.spec)
            return jax.make_array_from_single_device_arrays(shape, sharding, shards)

        return jax.tree.map(block, state)


#: Programs built recently, by (pack key, members, devices): the jobs of a search share one
#: compiled program instead of compiling it again for every pack.
_PROGRAMS: dict[tuple, Program] = {}
_PROGRAMS_KEPT = 4


def program_for(lead: Trial, num_members: int, devices: Sequence[Any]) -> Program:
    """The (cached) program of a job led by ``lead`` with ``num_members`` members."""
    from hpbench.train.compile_cache import use_compilation_cache
    from hpbench.train.job import pack_key
    from hpbench.workloads.registry import trial_workload

    use_compilation_cache()
    key = (pack_key(lead), num_members, tuple(d.id for d in devices))
    if key not in _PROGRAMS:
        workload = trial_workload(lead)
        while len(_PROGRAMS) >= _PROGRAMS_KEPT:
            _PROGRAMS.pop(next(iter(_PROGRAMS)))
        _PROGRAMS[key] = Program(
            workload, lead, num_members, make_mesh(devices, lead.batch_size, num_members)
        )
    return _PROGRAMS[key]
