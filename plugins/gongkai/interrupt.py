"""A command stopped by SIGTERM or SIGINT (Ctrl-C) cleans up as an error does.

Python's default for SIGTERM ends the process at once, so no ``finally`` and no exit
hook runs: a ``make check`` stopped by a supervisor left its spool (every unit's bodies,
spool.py) in the temp dir, and a build stopped after moving a reused unit's files out of
output/ left output/ without them until the next build. While ``handled()`` is active,
both signals raise ``Interrupted`` (a KeyboardInterrupt, so nothing that catches
``Exception`` swallows it) in the process that entered it: the ``finally`` blocks and exit
hooks run, the spool and the partial output go, output/ keeps its last complete build.

A process forked from it (the pre-pass workers, the zygote and its unit workers,
pool.py) is not the command: there the signal does what it does by default, quietly,
and cleanup stays the parent's (a worker never removes the parent's spool).
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(KeyboardInterrupt):
    """The command received ``signum``; its exit status is 128 + signum, as a shell reports it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.code = 128 + signum


# The process that entered handled() (None: not active), deferred() depth, a deferred signal.
_state: dict = {"pid": None, "defer": 0, "pending": None}


def _on_signal(signum: int, frame) -> None:
    if os.getpid() != _state["pid"]:
        # A forked child inherited this handler: it ends as by default, and the parent cleans up.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    if _state["defer"]:
        _state["pending"] = _state["pending"] or signum
        return
    _stop(signum)


def _stop(signum: int) -> None:
    # The cleanup that follows (bounded: pool.py waits a few seconds at most) is not cut
    # short by a second signal, which a supervisor or an impatient Ctrl-C may send.
    for s in SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    raise Interrupted(signum)


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """SIGTERM and SIGINT raise ``Interrupted`` in this process while inside (main thread
    only: elsewhere signals cannot be handled, and nothing changes); the previous handlers
    come back after, so a caller that runs a command in-process (a test) keeps its own."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    _state.update(pid=os.getpid(), defer=0, pending=None)
    for s in SIGNALS:
        signal.signal(s, _on_signal)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _state.update(pid=None, defer=0, pending=None)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A signal that arrives inside takes effect when the block ends: for steps that must
    not stop halfway (the two renames of the output swap, build.py)."""
    _state["defer"] += 1
    try:
        yield
    finally:
        _state["defer"] -= 1
    if not _state["defer"] and _state["pending"] is not None and os.getpid() == _state["pid"]:
        signum, _state["pending"] = _state["pending"], None
        _stop(signum)
