"""Python's cyclic garbage collector paused around work that allocates millions of objects
that live on (reading, scoring and rendering a large store)."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable


def gc_paused(function: Callable) -> Callable:
    """``function`` with Python's cyclic garbage collector paused: reading, scoring and
    rendering a large store allocate millions of objects that live on, and the collector's
    repeated full passes over them took about a fifth of the time (100,000 trials)."""

    @functools.wraps(function)
    def paused(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return paused
