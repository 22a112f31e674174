"""Posted histories scored together: one worker thread, batches of whatever is waiting.

Why: scoring one history is tens of milliseconds of fixed pandas cost and twenty cost
about the same (``kam_ml.scoring.history``), so twenty clients scored one by one wait
seconds while twenty scored together wait one pass. The worker takes every history waiting when it
becomes free (at most ``max_batch``), waiting only a few milliseconds for more: under
light load a history is scored at once, alone; under load the batches grow, and the
throughput with them.

Why one thread: the pipeline holds the GIL, so a second worker thread would only slice
the same core finer. With ``KAM_HISTORY_PROCESS=true`` the thread hands each pass to a
worker process (``serving.history_worker``), which runs it on another core while the event
loop keeps answering lookups. A request waits on an asyncio future, holding no server
thread.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import pandas as pd

from kam_ml.registry.champions import ScoringModels
from serving.errors import InvalidHistory
from serving.history_worker import (
    HistoryPayload,
    Outcome,
    ScoringContext,
    WorkerProcess,
    score_payload,
)
from serving.schemas import AccountIn, HistoryRequest, InteractionIn, OrderIn
from serving.state import ServedSnapshot

__all__ = ["HistoryBatcher"]

logger = logging.getLogger("serving")

# only the contract's columns: a field a client adds (extras are allowed) would otherwise
# become a column of every history in the batch
_ACCOUNT_FIELDS = set(AccountIn.model_fields)
_ORDER_FIELDS = set(OrderIn.model_fields)
_INTERACTION_FIELDS = set(InteractionIn.model_fields)


@dataclass(frozen=True, eq=False)
class _Job:
    body: HistoryRequest
    as_of: pd.Timestamp
    snapshot: ServedSnapshot
    models: ScoringModels
    done: Future[bytes] = field(default_factory=Future)

    @property
    def account_id(self) -> str:
        return self.body.account.account_id

    @property
    def batch_key(self) -> tuple[int, int, pd.Timestamp]:
        """Jobs scored together share a night, models and date (a reload splits them)."""
        return (id(self.snapshot), id(self.models), self.as_of)


class HistoryBatcher:
    """``await batcher.score(...)``: the AccountScore JSON of one posted history."""

    def __init__(
        self,
        max_batch: int = 64,
        on_batch: Callable[[int], None] | None = None,
        worker_process: bool = False,
    ) -> None:
        """``on_batch(n)`` after every pass that scored ``n`` histories (the metrics);
        ``worker_process``: passes go to a worker process (else the thread scores them)."""
        self.max_batch = max_batch
        self._process = WorkerProcess() if worker_process else None
        # a token per (night, models, date) scored lately, never reused: the worker keeps
        # contexts under it (ids alone could be reused once a reloaded object is freed;
        # holding the objects here keeps theirs unique while they are kept)
        self._tokens: dict[tuple[int, int, pd.Timestamp], tuple[int, object, object]] = {}
        self._issued = itertools.count()
        # how long the worker waits for one more history once it has one: the clients it
        # has just answered post again within a millisecond or two, and waiting for them
        # keeps every waiting client in one pass instead of two alternating half-batches
        self.linger_seconds = 0.003
        self._on_batch = on_batch
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._start = threading.Lock()

    async def score(
        self,
        body: HistoryRequest,
        as_of: pd.Timestamp,
        snapshot: ServedSnapshot,
        models: ScoringModels,
    ) -> bytes:
        """The AccountScore of ``body`` as JSON; ``InvalidHistory`` for a refused history."""
        job = _Job(body, as_of, snapshot, models)
        self._ensure_worker()
        self._jobs.put(job)
        return await asyncio.wrap_future(job.done)

    def start(self) -> None:
        """Start the worker process now (else the first history waits for it to start)."""
        if self._process is not None:
            self._process.start()

    def close(self) -> None:
        if self._process is not None:
            self._process.close()

    @property
    def worker_pid(self) -> int | None:
        """The worker process's id (None when passes run in the server's thread)."""
        return self._process.pid if self._process is not None else None

    def _ensure_worker(self) -> None:
        if self._worker is not None:
            return
        with self._start:
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._run, name="history-batches", daemon=True
                )
                self._worker.start()

    def _run(self) -> None:
        while True:
            jobs = [self._jobs.get()]
            while len(jobs) < self.max_batch:
                try:
                    jobs.append(self._jobs.get(timeout=self.linger_seconds))
                except queue.Empty:
                    break
            # a request whose client went away was cancelled: skip it (and from here on
            # the others can no longer be cancelled, so their results always land)
            jobs = [job for job in jobs if job.done.set_running_or_notify_cancel()]
            for batch in _batches(jobs):
                try:
                    self._score(batch)
                    if self._on_batch is not None:
                        self._on_batch(len(batch))
                except Exception as error:  # a bug answers its own requests, never the worker
                    logger.exception("scoring %d posted histories failed", len(batch))
                    for job in batch:
                        if not job.done.done():
                            job.done.set_exception(error)

    def _score(self, batch: list[_Job]) -> None:
        context, payload = _context(batch[0]), _payload(batch)
        if self._process is None:
            outcomes = score_payload(context, payload)
        else:
            outcomes = self._process.score(self._token(batch[0]), context, payload)
        _answer(batch, outcomes)

    def _token(self, job: _Job) -> int:
        held = self._tokens.get(job.batch_key)
        if held is None:
            held = (next(self._issued), job.snapshot, job.models)
            self._tokens[job.batch_key] = held
            while len(self._tokens) > 4:
                self._tokens.pop(next(iter(self._tokens)))
        return held[0]


def _batches(jobs: list[_Job]) -> list[list[_Job]]:
    """Jobs grouped by night and models, each group cut so that an account id appears once
    per batch (the same account posted twice at once is scored twice, in turn)."""
    groups: dict[tuple[int, int, pd.Timestamp], list[list[_Job]]] = {}
    for job in jobs:
        rounds = groups.setdefault(job.batch_key, [])
        for batch in rounds:
            if all(other.account_id != job.account_id for other in batch):
                batch.append(job)
                break
        else:
            rounds.append([job])
    return [batch for rounds in groups.values() for batch in rounds]


def _context(job: _Job) -> ScoringContext:
    snapshot = job.snapshot
    return ScoringContext(
        models=job.models,
        as_of=job.as_of,
        band_means=snapshot.band_means,
        categories=snapshot.categories,
        population=snapshot.population,
        history_start=snapshot.manifest.get("order_history_start"),
    )


def _payload(batch: list[_Job]) -> HistoryPayload:
    """The contract rows of every history in ``batch``, tagged with their account."""
    return HistoryPayload(
        accounts=[job.body.account.model_dump(include=_ACCOUNT_FIELDS) for job in batch],
        orders=[
            {**order.model_dump(include=_ORDER_FIELDS), "account_id": job.account_id}
            for job in batch
            for order in job.body.orders
        ],
        interactions=[
            {**event.model_dump(include=_INTERACTION_FIELDS), "account_id": job.account_id}
            for job in batch
            for event in job.body.interactions
        ],
    )


def _answer(batch: list[_Job], outcomes: list[Outcome]) -> None:
    by_account = {account: (scored, answer) for account, scored, answer in outcomes}
    for job in batch:
        scored, answer = by_account[job.account_id]
        if scored:
            assert isinstance(answer, bytes)
            job.done.set_result(answer)
        else:
            job.done.set_exception(InvalidHistory(str(answer)))
