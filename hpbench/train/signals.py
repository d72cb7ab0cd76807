"""Stopping a run on SIGINT/SIGTERM: the first signal is a flag the training loop checks
between chunks (it saves a checkpoint, then raises :class:`Interrupted`); a second one
interrupts at once, except while a checkpoint is being written.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


class Interrupted(KeyboardInterrupt):
    """Training stopped on a signal after saving a checkpoint (``signum`` says which)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopRequest:
    """Turns the first SIGINT/SIGTERM into a flag checked between chunks; a second one
    interrupts at once, except inside :meth:`critical` (a checkpoint being written), which
    it ends first, so a stop never leaves a half-written checkpoint. Only in the main
    thread; elsewhere signals are left alone."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}
        self._critical = 0
        self._forced = False

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is None:
            self.signum = signum
        elif self._critical:
            self._forced = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def critical(self, then_stop: bool = True) -> Iterator[None]:
        """A section a second signal does not cut: it stops the run once the section ends
        (``then_stop``; else the caller stops anyway)."""
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1
        if then_stop and self._forced and not self._critical:
            raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
