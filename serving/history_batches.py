"""Posted histories scored together: one worker thread, batches of whatever is waiting.

Why: scoring one history is tens of milliseconds of fixed pandas cost and twenty cost
about the same (``kam_ml.scoring.history``), so twenty clients scored one by one wait
seconds while twenty scored together wait one pass. The worker takes every history waiting when it
becomes free (at most ``max_batch``), waiting only a few milliseconds for more: under
light load a history is scored at once, alone; under load the batches grow, and the
throughput with them.

Why one thread: the pipeline holds the GIL, so a second worker would only slice the same
core finer; one worker leaves the event loop free to answer lookups between its slices.
A request waits on an asyncio future, holding no server thread. (Why not a worker process,
which would not share the GIL: it needs its own copy of the models and the night, sent or
reloaded at every hot reload, and on this 2-core machine, shared, there is no idle core for
it to win; see docs/serving.md, "Posted histories, scored together".)
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kam_ml.registry.champions import ScoringModels
from kam_ml.scoring.history import score_histories
from serving.errors import InvalidHistory
from serving.records import RecordTable
from serving.schemas import AccountIn, HistoryRequest, InteractionIn, OrderIn
from serving.state import ServedSnapshot

__all__ = ["HistoryBatcher"]

logger = logging.getLogger("serving")

# only the contract's columns: a field a client adds (extras are allowed) would otherwise
# become a column of every history in the batch
_ACCOUNT_FIELDS = set(AccountIn.model_fields)
_ORDER_FIELDS = set(OrderIn.model_fields)
_INTERACTION_FIELDS = set(InteractionIn.model_fields)
_INTERACTION_COLUMNS = ["account_id", *InteractionIn.model_fields]


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

    def __init__(self, max_batch: int = 64, on_batch: Callable[[int], None] | None = None) -> None:
        """``on_batch(n)`` after every pass that scored ``n`` histories (the metrics)."""
        self.max_batch = max_batch
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
                    _score(batch)
                    if self._on_batch is not None:
                        self._on_batch(len(batch))
                except Exception as error:  # a bug answers its own requests, never the worker
                    logger.exception("scoring %d posted histories failed", len(batch))
                    for job in batch:
                        if not job.done.done():
                            job.done.set_exception(error)


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


def _score(batch: list[_Job]) -> None:
    first = batch[0]
    snapshot = first.snapshot
    result = score_histories(
        _raw_tables(batch, snapshot),
        first.as_of,
        first.models,
        snapshot.population,
        snapshot.band_means,
        snapshot.manifest.get("order_history_start"),
    )
    for job in batch:  # refused ones first: when every history is, there is nothing to record
        refused = result.refused.get(job.account_id)
        if refused is not None:
            job.done.set_exception(InvalidHistory(str(refused)))
    pending = [job for job in batch if not job.done.done()]
    if not pending:
        return
    records = RecordTable.from_explained(
        result.explained, snapshot.band_means, str(first.as_of.date()), "history"
    )
    for job in pending:
        record: dict[str, Any] = records.record(records.index[job.account_id])
        job.done.set_result(json.dumps(record).encode())


def _raw_tables(batch: list[_Job], snapshot: ServedSnapshot) -> dict[str, pd.DataFrame]:
    """The contract tables of every history in ``batch``: one frame per table, not one per
    history (building a frame costs about as much as scoring a history's rows)."""
    accounts = pd.DataFrame([job.body.account.model_dump(include=_ACCOUNT_FIELDS) for job in batch])
    orders = pd.DataFrame(
        [
            {**order.model_dump(include=_ORDER_FIELDS), "account_id": job.account_id}
            for job in batch
            for order in job.body.orders
        ]
    )
    interactions = pd.DataFrame(
        [
            {**event.model_dump(include=_INTERACTION_FIELDS), "account_id": job.account_id}
            for job in batch
            for event in job.body.interactions
        ],
        columns=_INTERACTION_COLUMNS,
    )
    raw = {"accounts": accounts, "orders": orders, "interactions": interactions}
    if snapshot.categories is not None:
        raw["categories"] = snapshot.categories
    return raw
