"""A form's live progress while it plans or applies: the step it is at, the time since it began, and the last lines
the host's commands printed (a Xen build takes an hour on a real host: the lines show it is alive)."""

from __future__ import annotations

import html
import threading
import time
from collections import deque

import ipywidgets as w

from xenbook.engine.results import StepResult
from xenbook.safety.redact import mask_shapes

LINES = 200  # the last lines kept, in a box scrolled to its end (a step prints a few dozen at a time)
TICK = 0.5  # seconds between updates of the clock and the lines


def clock(seconds: float) -> str:
    """0:07, 12:30 or 1:02:03."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class LiveProgress:
    """Steps done of all, the current step, the elapsed time and the last lines. Widget values are comm messages
    sent at once, so a kernel busy in the click handler still updates the page; a thread ticks the clock."""

    def __init__(self):
        self.bar = w.IntProgress(min=0, max=1, value=0, description="steps")
        self.step = w.HTML()
        self.log = w.HTML()
        self.step.add_class("xenbook-step")
        self.log.add_class("xenbook-log")
        self.widget = w.VBox([w.HBox([self.bar, self.step]), self.log])
        self.widget.layout.display = "none"  # until the first Plan or Apply
        self._lines: deque[str] = deque(maxlen=LINES)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._verb, self._current, self._last, self._begun = "", "", "", 0.0
        self._dirty = False

    def begin(self, verb: str, total: int) -> None:
        """Start showing: verb is "planning" or "applying", total the number of steps."""
        self.widget.layout.display = ""
        self.bar.max, self.bar.value = max(total, 1), 0
        self._lines.clear()
        self.log.value = ""
        self._verb, self._current, self._last, self._begun = verb, "", "", time.monotonic()
        self._stop.clear()
        self._show()
        self._thread = threading.Thread(target=self._tick, name="xenbook-form-clock", daemon=True)
        self._thread.start()

    def started(self, name: str, *_args) -> None:
        """A step began (when the runner reports starts)."""
        self._current = name
        self._show()

    def done(self, result: StepResult) -> None:
        """A step ended."""
        self.bar.value = min(self.bar.value + 1, self.bar.max)
        self._last, self._current = result.name, ""
        self._show()

    def line(self, text: str) -> None:
        """A line a command printed; shown on the next tick, so a fast stream sends a few messages a second."""
        with self._lock:
            self._lines.append(mask_shapes(text.rstrip("\n")))
            self._dirty = True

    def end(self) -> float:
        """Stop the clock; the seconds it ran."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._flush()
        self.step.value = ""
        return time.monotonic() - self._begun

    def _tick(self) -> None:
        while not self._stop.wait(TICK):
            try:
                self._show()
            except Exception:  # noqa: BLE001  (a closed page stops the clock, never the run)
                return

    def _show(self) -> None:
        where = (f"step {self.bar.value + 1} of {self.bar.max}: <b>{html.escape(self._current)}</b>"
                 if self._current else f"after <b>{html.escape(self._last)}</b>" if self._last else "starting")
        self.step.value = (f'<span class="xenbook-live">{self._verb}, {where}, '
                           f'{clock(time.monotonic() - self._begun)}</span>')
        self._flush()

    def _flush(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            text, self._dirty = "\n".join(self._lines), False
        # column-reverse keeps the box scrolled to its newest line, with no script
        self.log.value = (f'<div style="max-height:18em;overflow:auto;display:flex;flex-direction:column-reverse;'
                          f'background:#f6f6f6;margin:2px 0;width:100%"><pre style="margin:0;padding:4px;flex:none">'
                          f'{html.escape(text)}</pre></div>')
