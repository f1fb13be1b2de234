"""Where Lamina's user-facing messages go: stdout (interactive) or Python logging.

Interactive logging (the default) writes progress bars and ``Epoch i/n`` lines to stdout. With it
turned off -- a training job on a server -- each message becomes one ``INFO`` record of the
``"lamina"`` logger, and progress bars write only finished lines (no in-place redraws).
"""

import logging
import sys

_STATE = {"interactive_logging": True}
_LOGGER = logging.getLogger("lamina")


def enable_interactive_logging():
    """Send Lamina's messages (progress bars, epoch lines) to stdout (the default)."""
    _STATE["interactive_logging"] = True


def disable_interactive_logging():
    """Send Lamina's messages to the ``"lamina"`` Python logger at ``INFO`` level instead of stdout."""
    _STATE["interactive_logging"] = False


def is_interactive_logging_enabled():
    """Whether messages go to stdout (``True``) or to Python logging (``False``)."""
    return _STATE["interactive_logging"]


def print_msg(message, line_break=True):
    """Write ``message`` to stdout, or log it when interactive logging is off."""
    message = str(message)
    if is_interactive_logging_enabled():
        sys.stdout.write(f"{message}\n" if line_break else message)
        sys.stdout.flush()
    else:
        _LOGGER.info(message)
