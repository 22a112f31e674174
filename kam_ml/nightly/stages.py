"""Wall time and peak resident memory per stage of a long job (Linux /proc; else ru_maxrss)."""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["StageClock", "StageTiming"]

_STATM = Path("/proc/self/statm")
_PAGE = resource.getpagesize()


@dataclass(frozen=True)
class StageTiming:
    stage: str
    seconds: float
    peak_rss_gib: float
    cpu_seconds: float = 0.0  # user + system CPU of this process: wall time on a busy machine
    # user + system CPU of the children that ended within the stage (the forked list writers)
    children_cpu_seconds: float = 0.0


@dataclass
class StageClock:
    """Times stages; a sampler thread records the peak RSS within each (every 50 ms)."""

    on_stage_done: Callable[[StageTiming], None] | None = None
    timings: list[StageTiming] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        peak = [_rss_bytes()]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.05):
                peak[0] = max(peak[0], _rss_bytes())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        start, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
        try:
            yield
        finally:
            done.set()
            sampler.join()
            peak[0] = max(peak[0], _rss_bytes())
            timing = StageTiming(
                name,
                time.perf_counter() - start,
                peak[0] / 2**30,
                time.process_time() - cpu,
                _children_cpu() - children,
            )
            self.timings.append(timing)
            if self.on_stage_done is not None:
                self.on_stage_done(timing)

    @property
    def total_seconds(self) -> float:
        return sum(t.seconds for t in self.timings)

    @property
    def peak_rss_gib(self) -> float:
        return max((t.peak_rss_gib for t in self.timings), default=0.0)


def _rss_bytes() -> int:
    try:
        return int(_STATM.read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
