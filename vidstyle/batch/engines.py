"""Where batch jobs run: in this process (``local``) or on a Ray cluster (``ray``), behind one interface.

What the engines promise: the same statuses and the same frames for the same
jobs. Pixels are identical when torch runs with the same thread count on the
same kind of machine (each job's ``threads``; a Ray task defaults to its CPU
reservation); with other thread counts, floating-point sums are ordered
differently and pixels may differ by a few levels.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from ..config import SettingError
from .tasks import ClipResult, Task, TransientError, run_task

OnDone = Callable[[ClipResult], None]


class Engine(Protocol):
    def run(self, tasks: Sequence[Task], on_done: OnDone) -> list[ClipResult]:
        """Run every task; call ``on_done(result)`` as each finishes; return results in task order."""
        ...


class LocalEngine:
    """Jobs on this machine: one after another in this process (with per-frame progress), or ``parallel``
    at once in worker processes, each pinned to its share of the cores (``threads``, unless a job sets
    its own), so they do not spin against each other (BENCHMARKS.md, threads)."""

    def __init__(self, on_start: Callable[[Task], None] | None = None, on_frame: Callable | None = None,
                 parallel: int = 1) -> None:
        if parallel < 1:
            raise SettingError("parallel", f"expected a value >= 1, got {parallel}")
        self.on_start, self.on_frame, self.parallel = on_start, on_frame, parallel

    def run(self, tasks: Sequence[Task], on_done: OnDone) -> list[ClipResult]:
        if self.parallel > 1 and len(tasks) > 1:
            return self._run_side_by_side(tasks, on_done)
        results = []
        for task in tasks:
            if self.on_start:
                self.on_start(task)
            try:
                result = run_task(task, on_frame=self.on_frame)
            except TransientError as exc:  # no other worker to retry on
                result = ClipResult.of(task, "failed", str(exc))
            results.append(result)
            on_done(result)
        return results

    def _run_side_by_side(self, tasks: Sequence[Task], on_done: OnDone) -> list[ClipResult]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        from ..core.device import available_cpus

        share = max(1, available_cpus() // self.parallel)
        results: list[ClipResult | None] = [None] * len(tasks)
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads inherited mid-flight
        with ProcessPoolExecutor(max_workers=self.parallel, mp_context=context) as pool:
            futures = {pool.submit(run_task, replace(task, threads=task.threads or share)): i
                       for i, task in enumerate(tasks)}
            for future in as_completed(futures):
                index = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # a worker died (out of memory, a crash): that task fails alone
                    result = ClipResult.of(tasks[index], "failed", f"worker failed: {type(exc).__name__}")
                results[index] = result
                on_done(result)
        return [r for r in results if r is not None]


class RayEngine:
    """One ``ray.remote`` task per job; tasks get paths and settings, never frames or models.

    Each task reserves ``cpus_per_job`` CPUs (and ``gpus_per_job`` GPUs) and
    runs torch with that many threads unless the job pins ``threads``. Ray
    retries a task ``retries`` times when its worker dies, and on
    :class:`TransientError` (e.g. out of memory); bad input is never retried.
    """

    def __init__(self, address: str = "auto", gpus_per_job: float = 0.0, cpus_per_job: float = 1.0,
                 retries: int = 2) -> None:
        self.address, self.gpus_per_job, self.cpus_per_job, self.retries = address, gpus_per_job, cpus_per_job, retries

    def _ray(self):
        try:
            import ray
        except ImportError:
            raise ValueError("the ray engine needs Ray: pip install 'vidstyle[ray]'") from None
        if not ray.is_initialized():
            try:
                if self.address == "local":
                    ray.init(include_dashboard=False, log_to_driver=False)
                else:
                    ray.init(address=self.address, log_to_driver=False)
            except ConnectionError as exc:
                raise ValueError(
                    f"no Ray cluster at {self.address!r} ({exc}); start a head node with ray start, or use "
                    "`address` local"
                ) from None
        return ray

    def run(self, tasks: Sequence[Task], on_done: OnDone) -> list[ClipResult]:
        ray = self._ray()
        remote = ray.remote(
            num_cpus=self.cpus_per_job, num_gpus=self.gpus_per_job, max_retries=self.retries,
            retry_exceptions=[TransientError],
        )(_remote_task)
        threads = max(1, int(self.cpus_per_job))
        refs = {remote.remote(replace(task, threads=task.threads or threads), os.environ.get("VIDSTYLE_HOME")): i
                for i, task in enumerate(tasks)}
        results: list[ClipResult | None] = [None] * len(tasks)
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            index = refs[done[0]]
            try:
                result = ray.get(done[0])
            except Exception as exc:  # the task failed for good (retries exhausted, worker lost)
                first_line = str(exc).splitlines()[0] if str(exc) else ""
                result = ClipResult.of(tasks[index], "failed", f"worker failed: {type(exc).__name__}: {first_line}")
            results[index] = result
            on_done(result)
        return [r for r in results if r is not None]


def _remote_task(task: Task, vidstyle_home: str | None) -> ClipResult:
    """The Ray task: the worker reads the clip and writes the output itself."""
    if vidstyle_home:
        os.environ.setdefault("VIDSTYLE_HOME", vidstyle_home)
    return run_task(task)


def make_engine(name: str, *, on_start: Callable | None = None, on_frame: Callable | None = None,
                address: str = "auto", gpus_per_job: float = 0.0, cpus_per_job: float = 1.0,
                retries: int = 2, parallel: int = 1) -> Engine:
    if name == "local":
        return LocalEngine(on_start, on_frame, parallel)
    if name == "ray":
        return RayEngine(address, gpus_per_job, cpus_per_job, retries)
    raise ValueError(f"expected an engine among local, ray, got {name!r}")
