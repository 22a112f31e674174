"""The stage clock counts the CPU of the processes a stage forks (the risk-list writers),
which the process's own CPU time leaves out."""

from __future__ import annotations

import multiprocessing as mp
import time

import pytest

from kam_ml.nightly.stages import StageClock


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork")
def test_a_stage_counts_the_cpu_of_the_children_it_waited_for() -> None:
    clock = StageClock()
    with clock.stage("forked"):
        child = mp.get_context("fork").Process(target=_burn, args=(0.3,))
        child.start()
        child.join()
    with clock.stage("own"):
        _burn(0.2)
    forked, own = clock.timings
    assert forked.children_cpu_seconds >= 0.25
    assert forked.cpu_seconds < 0.2
    assert own.cpu_seconds >= 0.2
    assert own.children_cpu_seconds == 0.0
