"""Traceback filtering: errors raised through ``fit``/``evaluate``/``predict`` show the user's frames.

With filtering on (the default), frames inside the ``lamina`` package are dropped from the traceback
of an exception that leaves a filtered entry point, so the trace ends at the user's code. Turn it
off to debug Lamina itself.
"""

import functools
import os
import traceback
import types

_STATE = {"traceback_filtering": True}
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def enable_traceback_filtering():
    """Drop Lamina-internal frames from tracebacks of errors raised by Lamina's entry points."""
    _STATE["traceback_filtering"] = True


def disable_traceback_filtering():
    """Show full tracebacks, Lamina's own frames included."""
    _STATE["traceback_filtering"] = False


def is_traceback_filtering_enabled():
    """Whether Lamina-internal frames are filtered out of tracebacks (default ``True``)."""
    return _STATE["traceback_filtering"]


def _filtered(tb):
    frames = list(traceback.walk_tb(tb))
    kept = None
    for frame, line_no in reversed(frames):
        if not frame.f_code.co_filename.startswith(_PACKAGE_DIR):
            kept = types.TracebackType(kept, frame, frame.f_lasti, line_no)
    if kept is None and frames:
        # Nothing outside Lamina: keep the innermost frame so the trace is never empty.
        frame, line_no = frames[-1]
        kept = types.TracebackType(None, frame, frame.f_lasti, line_no)
    return kept


def filter_traceback(fn):
    """Decorator: re-raise exceptions from ``fn`` without Lamina's frames when filtering is on."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not _STATE["traceback_filtering"]:
            return fn(*args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            raise e.with_traceback(_filtered(e.__traceback__)) from None

    return wrapper
