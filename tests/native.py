"""The C accelerators for tests that compare them with the pure-Python reference."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from types import ModuleType

import pytest


def require_native(name: str) -> ModuleType:
    """``capigate.<name>``; a module-level skip when it is not built, except under ``CI=true``,
    where a missing accelerator fails: CI never silently tests or measures the pure path alone."""
    try:
        return importlib.import_module(f"capigate.{name}")
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"capigate.{name} is not built (make native)", allow_module_level=True)


LEAK_CALLS = 200_000  # calls over which an accelerator's memory must stay flat
MAX_RSS_GROWTH_KIB = 2048


def rss_kib() -> int:
    """The process's resident set now, in KiB (``ru_maxrss`` is a peak: growth below an
    earlier peak would not show in it)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def assert_memory_flat(run: Callable[[int], None], *, max_block_growth: int) -> None:
    """``run(calls)`` leaks no reference: once half of LEAK_CALLS has filled free lists, memos
    and caches, allocated blocks stay flat over the other half, and RSS over LEAK_CALLS more."""
    run(LEAK_CALLS // 2)
    before = sys.getallocatedblocks()
    run(LEAK_CALLS // 2)
    assert sys.getallocatedblocks() - before < max_block_growth
    rss_before = rss_kib()
    run(LEAK_CALLS)
    assert rss_kib() - rss_before < MAX_RSS_GROWTH_KIB
