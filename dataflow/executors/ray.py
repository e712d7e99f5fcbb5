"""The Ray executor: the same chunk tasks on a Ray cluster (``executor: ray``, ``--executor ray``).

* **Chunk tasks** run as Ray tasks (``num_cpus``/``num_gpus`` from the steps' :class:`Cost`), retried
  when the worker running them dies (``max_retries``): a chunk's marker is written last and every file
  under a temporary name, so a retried chunk is neither doubled nor lost.
* **Steps that hold a resource** (an LLM serving, an embedder, a sandbox, ...) run in an actor pool per
  resource configuration: ``Cost.replicas`` actors (``executor_options: {replicas: N}`` overrides), each
  with the step's CPUs and GPUs, each building the resource once and keeping it for every chunk it is
  given (``stats()`` and ``run.json`` ``executor_stats`` show the loads per replica). Tasks go to the
  replica with the fewest in flight; a replica that dies is restarted and its calls retried.
* **Keyed dedups** (MinHash, SimHash, exact: operators with ``group_keys``) are decided by a hash
  shuffle, never by bringing signatures to the driver: scan tasks compute each chunk's signatures
  (cached as the barrier's scan states) and cut its table keys into partitions; partition tasks pair
  the rows of each bucket and route the pairs by the chunk of their first row; link tasks count the
  distinct candidates and check them on signatures read from the scan states. The driver gets only the
  linked pairs (rows in duplicate clusters), takes their connected components and asks the chunks for
  those rows' ids: the same decision as the local executor's (:mod:`dataflow.lib.dedup.shuffle`).
  The n-gram dedup's prefix filter runs the same way after two more steps: partitions count every
  n-gram's frequency over the dataset, and groups of chunks cut each row's prefix (rarest first).
  Other barriers (semantic dedup, custom ones) scan in Ray tasks and decide in the driver.

The cache directory must be reachable from every node under the same path (one machine, or a shared
filesystem). Without ``address`` a Ray instance is started on this machine (``workers`` CPUs, a small
object store, no dashboard) and shut down at the end; with ``address`` (``auto``, ``host:port``,
``ray://...``) the run joins that cluster and leaves it running. Ray is imported only here, when the
executor is chosen.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import numpy as np

from dataflow.core.cache import load_pickle
from dataflow.core.executor import Executor
from dataflow.core.operator import Cost
from dataflow.core.tasks import ChunkTask, ScanTask, StepRef, operator_for, run_scan_task, teardown_worker
from dataflow.lib.dedup.pairs import _DEFAULT_MAX_BUCKET

try:
    import ray
except ImportError as exc:  # pragma: no cover - exercised where ray is absent
    raise ImportError("the ray executor needs Ray: pip install 'dataflow[ray]'") from exc

logger = logging.getLogger("dataflow")

#: Object store of a Ray instance this executor starts itself (the default is 30% of RAM).
DEFAULT_OBJECT_STORE_MB = 256


# ---------------------------------------------------------------- what runs on the workers
def _call(fn: Callable[[Any], Any], task: Any) -> Any:
    return fn(task)


class _Replica:
    """One actor of a resource pool: runs the tasks it is given; its resources are built on first use
    and kept (``dataflow.core.tasks`` keeps them per process)."""

    def __init__(self) -> None:
        self.tasks = 0

    def run(self, fn: Callable[[Any], Any], task: Any) -> Any:
        self.tasks += 1
        return fn(task)

    def info(self) -> dict[str, Any]:
        from dataflow.core.resources import BUILDS

        return {"pid": os.getpid(), "node": ray.get_runtime_context().get_node_id(), "tasks": self.tasks,
                "loads": dict(BUILDS)}

    def teardown(self) -> None:
        teardown_worker()


def _scan_shards(task: ScanTask, partitions: int) -> tuple:
    """A keyed dedup's scan of one chunk (its state cached on disk), as (rows, seconds) and the chunk's
    table keys cut into ``partitions`` shards."""
    from dataflow.lib.dedup.shuffle import shard_keys

    state, seconds = run_scan_task(task)
    keys = operator_for(task.step).group_keys(state.signatures)
    return ((len(state.row_ids), seconds), *shard_keys(keys, task.chunk, partitions))


def _scan_tokens(task: ScanTask, partitions: int) -> tuple:
    """The n-gram dedup's scan of one chunk, as (rows, seconds) and its (n-gram, row) shards."""
    from dataflow.lib.dedup.shuffle import shard_tokens

    state, seconds = run_scan_task(task)
    hashes, sizes = operator_for(task.step).token_sets(state.signatures)
    return ((len(state.row_ids), seconds), *shard_tokens(hashes, sizes, task.chunk, partitions))


def _pieces(routed: list[Any]) -> Any:
    return tuple(routed) if len(routed) > 1 else routed[0]


def _count_tokens(groups: int, *shards: np.ndarray) -> Any:
    from dataflow.lib.dedup.shuffle import count_tokens

    return _pieces(count_tokens(list(shards), groups))


def _prefix_shards(threshold: float, partitions: int, *pieces: np.ndarray) -> Any:
    from dataflow.lib.dedup.shuffle import prefix_shards

    return _pieces(prefix_shards(list(pieces), threshold, partitions))


def _partition_pairs(groups: int, max_bucket: int, *shards: np.ndarray) -> Any:
    from dataflow.lib.dedup.shuffle import partition_pairs, route_pairs

    return _pieces(route_pairs(partition_pairs(list(shards), max_bucket), groups))


def _scan_state(task: ScanTask) -> Any:
    layout, ref = task.layout, task.step
    state, _seconds = load_pickle(layout.scan_state(layout.step_dir(ref.index, ref.name, ref.fingerprint), task.chunk))
    return state


def _link_group(tasks: list[ScanTask], *pieces: np.ndarray) -> tuple[int, np.ndarray]:
    """(distinct candidate pairs, the linked ones) of one group: the signatures of the rows the pairs
    name are read from the scan states, one chunk at a time."""
    from dataflow.lib.dedup.shuffle import chunk_of, position_of, unique_pairs

    pairs = unique_pairs(list(pieces))
    if not len(pairs):
        return 0, pairs
    op = operator_for(tasks[0].step)
    rows = np.unique(pairs)
    parts = []
    chunks = chunk_of(rows)
    for c in np.unique(chunks):
        parts.append(op.take_signatures(_scan_state(tasks[int(c)]).signatures, position_of(rows[chunks == c])))
    sig = op.concat_signatures(parts)
    index = np.searchsorted(rows, pairs)
    return len(pairs), pairs[op.linked_mask(sig, sig, index, index)]


def _row_ids(task: ScanTask, positions: np.ndarray) -> list[str]:
    return _scan_state(task).row_ids[positions].tolist()


# ---------------------------------------------------------------- the executor
class _Pool:
    """The replicas of one resource configuration, and how many calls each has in flight."""

    def __init__(self, actors: list[Any], cost: Cost, kinds: tuple[str, ...]) -> None:
        self.actors, self.cost, self.kinds = actors, cost, kinds
        self.in_flight = [0] * len(actors)


class RayExecutor(Executor):
    """Chunk tasks as Ray tasks, resource steps in actor pools, dedup barriers as a hash shuffle."""

    name = "ray"
    runs_resources = True

    def __init__(self, workers: int | None = None, address: str | None = None, replicas: int | None = None,
                 object_store_mb: int = DEFAULT_OBJECT_STORE_MB, max_retries: int = 3,
                 shuffle_partitions: int | None = None) -> None:
        self._workers = workers
        self.address = address
        self.replicas = replicas
        self.object_store_mb = object_store_mb
        self.max_retries = max_retries
        self.shuffle_partitions = shuffle_partitions
        self._owns = False
        self._pools: dict[tuple, _Pool] = {}
        self._lock = threading.Lock()
        self._pending: set[Any] = set()
        self._remote: dict[str, Any] = {}
        self._shuffles: list[dict[str, Any]] = []
        self._actor_cpus = 0.0

    @property
    def workers(self) -> int:
        if ray.is_initialized():
            return max(1, int(ray.cluster_resources().get("CPU", 1)))
        return self._workers or os.cpu_count() or 1

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if ray.is_initialized():
            return
        if self.address:
            ray.init(address=self.address, logging_level=logging.WARNING)
        else:
            # Workers on this machine import what the driver imports (a checkout on PYTHONPATH, tests).
            path = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
            ray.init(num_cpus=self._workers or os.cpu_count(), include_dashboard=False,
                     object_store_memory=self.object_store_mb << 20, logging_level=logging.WARNING,
                     runtime_env={"env_vars": {"PYTHONPATH": path}})
            self._owns = True

    def close(self) -> None:
        if not ray.is_initialized():
            return
        with self._lock:
            pending, self._pending = list(self._pending), set()
            pools, self._pools = list(self._pools.values()), {}
        for ref in pending:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - already finished or gone
                pass
        self._actor_cpus = 0.0
        for pool in pools:
            try:
                ray.get([a.teardown.remote() for a in pool.actors], timeout=60)
            except Exception as exc:  # noqa: BLE001 - a replica that cannot tear down is killed anyway
                logger.warning("ray: a replica did not tear down: %s", exc)
            for actor in pool.actors:
                ray.kill(actor)
        if self._owns:
            ray.shutdown()
            self._owns = False

    # ------------------------------------------------------------------ tasks
    def _fn(self, fn: Callable[..., Any], **options: Any) -> Any:
        key = f"{fn.__name__}:{sorted(options.items())}"
        if key not in self._remote:
            self._remote[key] = ray.remote(fn).options(**options)
        return self._remote[key]

    def _track(self, ref: Any) -> Future:
        future = ref.future()
        with self._lock:
            self._pending.add(ref)

        def done(_: Future) -> None:
            with self._lock:
                self._pending.discard(ref)

        future.add_done_callback(done)
        return future

    def submit(self, fn: Callable[[Any], Any], task: Any) -> Future:
        self.start()
        ref_step = _task_step(task)
        if ref_step is not None and ref_step.resources:
            return self._submit_to_pool(fn, task, ref_step)
        cost = ref_step.cost if ref_step is not None else Cost()
        remote = self._fn(_call, num_cpus=cost.cpus, num_gpus=cost.gpus, max_retries=self.max_retries)
        return self._track(remote.remote(fn, task))

    def _submit_to_pool(self, fn: Callable[[Any], Any], task: Any, step: StepRef) -> Future:
        specs = {kind: spec for kind, spec in task.resources.items() if kind in step.resources}
        key = tuple(sorted((kind, spec.key) for kind, spec in specs.items()))
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = self._new_pool(step)
            i = min(range(len(pool.actors)), key=pool.in_flight.__getitem__)
            pool.in_flight[i] += 1
        future = self._track(pool.actors[i].run.remote(fn, task))

        def done(_: Future) -> None:
            with self._lock:
                pool.in_flight[i] -= 1

        future.add_done_callback(done)
        return future

    def _new_pool(self, step: StepRef) -> _Pool:
        cost = step.cost
        replicas, cpus = max(1, self.replicas or cost.replicas), cost.cpus
        if cpus > 0:
            # Replicas hold their CPUs for the whole run: leave one for the chunk tasks, which would
            # otherwise wait for ever behind them.
            fit = int((self.workers - self._actor_cpus - 1) // cpus)
            if fit < replicas:
                logger.warning("ray: %s asks for %d replica(s) of %g CPU; the cluster has room for %d",
                               step.label, replicas, cpus, max(fit, 0))
                replicas = max(1, fit)
                cpus = cpus if fit >= 1 else 0
        self._actor_cpus += replicas * cpus
        actor = ray.remote(_Replica).options(num_cpus=cpus, num_gpus=cost.gpus, max_restarts=self.max_retries,
                                             max_task_retries=self.max_retries)
        logger.info("ray: %d replica(s) for %s (%g CPU, %g GPU each)", replicas, step.label, cpus, cost.gpus)
        return _Pool([actor.remote() for _ in range(replicas)], Cost(cpus, cost.gpus, cost.memory_gb, replicas),
                     tuple(step.resources))

    # ------------------------------------------------------------------ barriers
    def decide(self, op: Any, tasks: list[ScanTask]) -> tuple[Any, float, float] | None:
        """A keyed dedup's or the n-gram dedup's decision by a hash shuffle (module doc); None for other
        barriers and for signatures that come from a model (scanned in its pool, decided in the driver)."""
        if not tasks or tasks[0].step.resources:
            return None
        keyed = callable(getattr(op, "group_keys", None)) and op.group_keys(op.empty_signatures()) is not None
        prefix = getattr(op, "prefix_join", False)
        if not (keyed or prefix):
            return None
        self.start()
        parts = self.shuffle_partitions or max(2, min(len(tasks), 2 * self.workers))
        cost, retries = tasks[0].step.cost, self.max_retries
        t0 = time.perf_counter()
        if keyed:
            scan = self._fn(_scan_shards, num_cpus=cost.cpus, max_retries=retries, num_returns=parts + 1)
            shards = [scan.remote(t, parts) for t in tasks]
            max_bucket = _DEFAULT_MAX_BUCKET
        else:  # the prefix filter: every n-gram's frequency first, then each row's prefix as one table
            scan = self._fn(_scan_tokens, num_cpus=cost.cpus, max_retries=retries, num_returns=parts + 1)
            shards = [scan.remote(t, parts) for t in tasks]
        counts = ray.get([s[0] for s in shards])
        scan_seconds = sum(sec for _, sec in counts)
        t1 = time.perf_counter()
        if not keyed:
            count = self._fn(_count_tokens, max_retries=retries, num_returns=parts)
            counted = _lists([count.remote(parts, *[s[1 + p] for s in shards]) for p in range(parts)], parts)
            prefixes = self._fn(_prefix_shards, max_retries=retries, num_returns=parts)
            shards = [[None, *_list(prefixes.remote(op.threshold, parts, *[c[g] for c in counted]), parts)]
                      for g in range(parts)]
            max_bucket = op.prefix_max_bucket
        pair = self._fn(_partition_pairs, max_retries=retries, num_returns=parts)
        routed = _lists([pair.remote(parts, max_bucket, *[s[1 + p] for s in shards]) for p in range(parts)], parts)
        del shards
        link = self._fn(_link_group, max_retries=retries)
        tasks_ref = ray.put(tasks)  # once in the object store, not once per link task
        linked = ray.get([link.remote(tasks_ref, *[r[g] for r in routed]) for g in range(parts)])
        del routed
        decision = self._decision(op, tasks, counts, linked)
        self._shuffles.append({"step": tasks[0].step.index, "partitions": parts,
                               "candidates": int(sum(c for c, _ in linked)),
                               "linked": int(sum(len(p) for _, p in linked)),
                               "scan_wall_seconds": round(t1 - t0, 3),
                               "shuffle_seconds": round(time.perf_counter() - t1, 3)})
        return decision, scan_seconds, time.perf_counter() - t1

    def _decision(self, op: Any, tasks: list[ScanTask], counts: list[tuple[int, float]],
                  linked: list[tuple[int, np.ndarray]]) -> Any:
        """Connected components of the linked pairs (only rows in duplicate clusters are here), then the
        ids of those rows from their chunks."""
        from dataflow.lib.dedup.pairs import cluster_duplicates
        from dataflow.lib.dedup.shuffle import chunk_of, position_of

        n = sum(rows for rows, _ in counts)
        pairs = np.concatenate([p for _, p in linked]) if linked else np.zeros((0, 2), np.int64)
        nodes = np.unique(pairs)  # global rows sort like input order: the lowest is the representative
        root = cluster_duplicates(len(nodes), np.searchsorted(nodes, pairs))
        chunks = chunk_of(nodes)
        wanted = np.unique(chunks)
        lookup = self._fn(_row_ids, max_retries=self.max_retries)
        found = ray.get([lookup.remote(tasks[int(c)], position_of(nodes[chunks == c])) for c in wanted])
        ids = np.empty(len(nodes), dtype=object)
        for c, chunk_ids in zip(wanted, found):
            ids[chunks == c] = chunk_ids
        member_ids, rep_ids = ids.tolist(), ids[root].tolist()
        clusters = int(np.count_nonzero(root == np.arange(len(nodes))))
        metrics = op.grouping_metrics(candidates=int(sum(c for c, _ in linked)), linked=len(pairs), rows=n,
                                      rows_in_clusters=len(nodes), clusters=clusters)
        return op.decision(member_ids, rep_ids, n, metrics)

    # ------------------------------------------------------------------ reporting
    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        with self._lock:
            pools = list(self._pools.values())
        if pools:
            out["resource_pools"] = []
            for pool in pools:
                try:
                    replicas = ray.get([a.info.remote() for a in pool.actors], timeout=60)
                except Exception as exc:  # noqa: BLE001 - report what can be reported
                    replicas = [{"error": str(exc)}]
                out["resource_pools"].append({"resources": list(pool.kinds), "cpus": pool.cost.cpus,
                                              "gpus": pool.cost.gpus, "replicas": replicas})
        if self._shuffles:
            out["shuffles"] = list(self._shuffles)
        if ray.is_initialized():
            out["nodes"] = sum(1 for node in ray.nodes() if node.get("Alive"))
        return out


def _list(refs: Any, n: int) -> list[Any]:
    """A remote call's ``n`` returns as a list (Ray hands back a single ref when ``n`` is 1)."""
    return list(refs) if n > 1 else [refs]


def _lists(calls: list[Any], n: int) -> list[list[Any]]:
    return [_list(refs, n) for refs in calls]


def _task_step(task: Any) -> StepRef | None:
    """The step that decides where a task runs: a chunk task's last step (a group's steps are placed
    alike), a scan task's step."""
    if isinstance(task, ChunkTask):
        return task.steps[task.stop - 1]
    if isinstance(task, ScanTask):
        return task.step
    return None
