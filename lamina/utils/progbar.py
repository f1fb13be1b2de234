"""The Keras progress bar: ``12/50 ━━━━━╺────────── 1s 5ms/step - accuracy: 0.91 - loss: 0.30``.

On a terminal the line is redrawn in place at most every ``interval`` seconds; elsewhere (CI logs,
files) only the final line of each epoch is written. Values may be device tensors: they are read
only when a line is drawn, so training never waits on the host for a progress bar.
"""

import sys
import time

from lamina.utils import io_utils


def _as_float(value):
    if hasattr(value, "detach"):
        value = value.detach()
        return float(value.float().mean().cpu()) if value.numel() != 1 else float(value.cpu())
    return float(value)


def _format_value(v):
    v = _as_float(v)
    return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.4e}"


def _format_time(seconds):
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


class Progbar:
    """Progress bar for ``target`` steps (``None`` when unknown).

    Args:
        target: Total number of steps, or ``None``.
        width: Width of the bar in characters.
        verbose: 1 for the bar, 2 for one line per epoch, 0 for nothing.
        interval: Minimum seconds between redraws.
        unit_name: Name of a step in the timing (``"step"``).
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, unit_name="step", stream=None):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stream = stream or sys.stdout
        self._dynamic = (
            verbose == 1
            and io_utils.is_interactive_logging_enabled()
            and hasattr(self.stream, "isatty")
            and self.stream.isatty()
        )
        self._start = time.time()
        self._last_draw = 0.0
        self._values = {}
        self._seen = 0

    def redraw_due(self):
        """Whether the next `update` would redraw a live bar (not counting the final one)."""
        return self._dynamic and time.time() - self._last_draw >= self.interval

    def update(self, current, values=None, finalize=None):
        """Record progress; ``values`` is a dict of name -> current (running) value."""
        if values:
            self._values.update(values)
        self._seen = current
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.verbose == 0:
            return
        now = time.time()
        if not finalize and (not self._dynamic or now - self._last_draw < self.interval):
            return
        self._last_draw = now
        line = self._line(current, now, finalize)
        if not io_utils.is_interactive_logging_enabled():
            io_utils.print_msg(line)
            return
        if self._dynamic:
            self.stream.write("\r" + line + ("\n" if finalize else ""))
        elif finalize:
            self.stream.write(line + "\n")
        self.stream.flush()

    def _line(self, current, now, finalize):
        elapsed = now - self._start
        per_step = elapsed / max(current, 1)
        parts = []
        if self.verbose == 1:
            if self.target is not None:
                digits = len(str(self.target))
                filled = int(self.width * current / max(self.target, 1))
                bar = "━" * filled
                if filled < self.width:
                    bar += "╺" + "─" * (self.width - filled - 1) if filled else "─" * self.width
                parts.append(f"{current:{digits}d}/{self.target} {bar}")
            else:
                parts.append(f"{current}")
        elif finalize:
            # Keras's one line per epoch: "3/3 - 0s - 5ms/step - loss: ...".
            count = f"{current}/{self.target}" if self.target is not None else f"{current}"
            per = _per_unit(per_step, self.unit_name)
            return f"{count} - {_format_time(elapsed)} - {per}" + self._values_text()
        if finalize or self.target is None:
            timing = f"{_format_time(elapsed)} {_per_unit(per_step, self.unit_name)}"
        else:
            timing = f"{_format_time(per_step * (self.target - current))} {_per_unit(per_step, self.unit_name)}"
        parts.append(timing)
        return " ".join(parts) + self._values_text()

    def _values_text(self):
        return "".join(f" - {name}: {_format_value(self._values[name])}" for name in sorted(self._values))


def _per_unit(seconds, unit):
    if seconds >= 1:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"
