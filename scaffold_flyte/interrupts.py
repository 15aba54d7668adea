"""Ctrl-C as KeyboardInterrupt for the whole launch, whatever flytekit installed.

Importing flytekit installs a SIGINT handler that calls ``exit(1)`` (core/context_manager.py,
FlyteContextManager.initialize): a Ctrl-C while planning, building or creating executions would
end the process in silence, with executions created and never listed. Under this context
manager Ctrl-C raises KeyboardInterrupt instead, so the launch can say what exists.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def ctrl_c_interrupts() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
