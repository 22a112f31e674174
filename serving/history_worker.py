"""Posted histories scored in a process of their own, off the server's interpreter lock.

Why a process: a pass over twenty posted histories is ~60 ms of pandas and LightGBM that
holds the GIL, and the event loop answering the twenty requests (parsing, checks, JSON)
needs the same lock, so in one process the two take turns on one core however many the
machine has. In a worker process the pass runs on a second core while the event loop keeps
answering lookups. Opt-in (``KAM_HISTORY_PROCESS=true``): measured, it speeds histories up
beside lookups and lowers the lookups' latency, but twenty clients posting histories in a
closed loop get a worse p99 than with the thread, since their rounds never overlap and the
pipe adds to each (docs/serving.md, "Posted histories, scored together").

What the worker needs from the server is sent, not reloaded: the champions and the night's
book-level inputs (band means, catalogue, population statistics, first day of history) go
over once per night and model version, as a ``ScoringContext`` under a key, and every pass
names the key it was batched under. A worker that does not hold the key (new, restarted, or
a hot reload happened) answers ``NEEDS_CONTEXT`` and the pass is sent again with it, so a
reload never needs the worker to read the store or the night folder itself, and a pass is
always scored with exactly the models and night its requests were checked against.
A worker that dies (killed, out of memory) is replaced and its pass sent once more.
"""

from __future__ import annotations

import gc
import json
import logging
import multiprocessing
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import pandas as pd

from kam_ml.registry.champions import ScoringModels
from kam_ml.scoring.history import score_histories
from serving.records import RecordTable
from serving.schemas import InteractionIn

__all__ = ["HistoryPayload", "Outcome", "ScoringContext", "WorkerProcess", "score_payload"]

logger = logging.getLogger("serving")

# (account id, scored?, the AccountScore JSON when scored, else why it was refused)
Outcome = tuple[str, bool, bytes | str]
NEEDS_CONTEXT = "needs-context"

_INTERACTION_COLUMNS = ["account_id", *InteractionIn.model_fields]


@dataclass(frozen=True)
class ScoringContext:
    """Everything a pass needs besides the histories: one night's, with one set of models."""

    models: ScoringModels
    as_of: pd.Timestamp
    band_means: pd.DataFrame
    categories: pd.DataFrame | None
    population: Any | None
    history_start: Any | None


@dataclass(frozen=True)
class HistoryPayload:
    """The contract rows of the histories of one pass, as plain records (cheap to send)."""

    accounts: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    interactions: list[dict[str, Any]]


def score_payload(context: ScoringContext, payload: HistoryPayload) -> list[Outcome]:
    """Score one pass; the same function in the server's thread and in the worker."""
    raw = {
        "accounts": pd.DataFrame(payload.accounts),
        "orders": pd.DataFrame(payload.orders),
        "interactions": pd.DataFrame(payload.interactions, columns=_INTERACTION_COLUMNS),
    }
    if context.categories is not None:
        raw["categories"] = context.categories
    result = score_histories(
        raw,
        context.as_of,
        context.models,
        context.population,
        context.band_means,
        context.history_start,
    )
    outcomes: list[Outcome] = [
        (account, False, str(error)) for account, error in result.refused.items()
    ]
    if len(result.explained):
        records = RecordTable.from_explained(
            result.explained, context.band_means, str(context.as_of.date()), "history"
        )
        for account, row in records.index.items():
            outcomes.append((account, True, json.dumps(records.record(row)).encode()))
    return outcomes


def _serve(connection: Connection) -> None:
    """The worker process: answer passes until the server closes the pipe."""
    contexts: dict[Hashable, ScoringContext] = {}  # newest last
    while True:
        try:
            key, payload, context = connection.recv()
        except EOFError:
            return
        if context is not None:
            contexts.pop(key, None)
            contexts[key] = context
            # two: a pass batched just before a reload and one just after keep theirs
            while len(contexts) > 2:
                contexts.pop(next(iter(contexts)))
            # long-lived from here on: out of the collector's walks (as the server does)
            gc.collect()
            gc.freeze()
        held = contexts.get(key)
        if payload is None:  # the start-up handshake
            connection.send(None)
        elif held is None:
            connection.send(NEEDS_CONTEXT)
        else:
            try:
                connection.send(score_payload(held, payload))
            except Exception as error:  # the server answers the pass's requests with it
                connection.send(error)


class WorkerProcess:
    """One scoring process, spawned (so it inherits no threads or OpenMP state) on first use
    or by ``start``, talked to over a pipe by one thread at a time, replaced when it dies."""

    def __init__(self) -> None:
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the process and wait until it has imported the pipeline."""
        with self._lock:
            self._ask((None, None, None))

    def score(
        self, key: Hashable, context: ScoringContext, payload: HistoryPayload
    ) -> list[Outcome]:
        """Score ``payload`` in the worker with ``context`` (sent only when it lacks it)."""
        with self._lock:
            try:
                answer = self._ask((key, payload, None))
            except (EOFError, OSError):
                logger.warning("the history worker process died; starting a new one")
                self.close()
                answer = self._ask((key, payload, None))
            if isinstance(answer, str) and answer == NEEDS_CONTEXT:
                answer = self._ask((key, payload, context))
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, list)
        return answer

    @property
    def pid(self) -> int | None:
        """The process's id while it runs (None before it started)."""
        return self._process.pid if self._process is not None else None

    def close(self) -> None:
        """Stop the process (it exits when its pipe closes)."""
        connection, process = self._connection, self._process
        self._connection = self._process = None
        if connection is not None:
            connection.close()
        if process is not None:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()

    def _ask(self, message: tuple[Any, Any, Any]) -> Any:
        if self._connection is None:
            ours, theirs = multiprocessing.Pipe()
            context = multiprocessing.get_context("spawn")
            process = context.Process(
                target=_serve, args=(theirs,), name="kam-history-worker", daemon=True
            )
            process.start()
            theirs.close()
            self._connection, self._process = ours, process
        self._connection.send(message)
        return self._connection.recv()
