"""Progress of long store operations: a bar on a terminal's stderr, or rate-limited lines through a logger.

The bar draws only when stderr is a terminal, so pipes, CI logs and tests see nothing.
"""

import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

BAR_WIDTH = 24


def format_amount(amount: float, unit: str) -> str:
    """`1.2 M rows`, `3.4 MB`, `17 tables`: short enough for a bar line."""
    if unit == "bytes":
        for suffix, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
            if amount >= size:
                return f"{amount / size:.1f} {suffix}"
        return f"{amount:.0f} B"
    for suffix, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if amount >= size:
            return f"{amount / size:.1f} {suffix} {unit}"
    return f"{amount:,.0f} {unit}"


def progress_line(label: str, done: float, total: float | None, elapsed: float, unit: str = "rows") -> str:
    """`label: 12,345 / 50,000 rows (24.7%), 3.2 s elapsed`; without a total, the amount and time only."""
    if unit == "bytes":
        amount = format_amount(done, unit)
        if total:
            amount += f" / {format_amount(total, unit)}"
    else:
        amount = f"{done:,.0f} / {total:,.0f} {unit}" if total else f"{done:,.0f} {unit}"
    percent = f" ({100.0 * min(done, total) / total:.1f}%)" if total else ""
    return f"{label}: {amount}{percent}, {elapsed:.1f} s elapsed"


def bar_line(label: str, done: float, total: float | None, elapsed: float, unit: str = "rows") -> str:
    """One redrawable bar line: `label [#####-----]  45% 1.2 M / 2.6 M rows 3.1 s`."""
    if not total:
        return f"{label} [{'.' * BAR_WIDTH}] {format_amount(done, unit)} {elapsed:.1f} s"
    fraction = min(max(done / total, 0.0), 1.0)
    filled = int(round(fraction * BAR_WIDTH))
    return (f"{label} [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {fraction * 100:3.0f}% "
            f"{format_amount(done, unit)} / {format_amount(total, unit)} {elapsed:.1f} s")


class ProgressBar:
    """A bar redrawn in place on `stream` (stderr) when it is a terminal; does nothing otherwise.

    Use as a context manager; `update(done)` or `advance(amount)` as work finishes. Redraws are
    limited to one per `min_interval` seconds, and the last state is drawn on exit.
    """

    def __init__(self, label: str, total: float | None, *, unit: str = "rows", stream: TextIO | None = None,
                 enabled: bool | None = None, min_interval: float = 0.1, clock: Callable[[], float] = time.monotonic):
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self.min_interval = min_interval
        self.clock = clock
        self.done = 0.0
        self.started = clock()
        self._last_draw = float("-inf")
        self._width = 0
        self._lock = threading.Lock()

    def __enter__(self) -> "ProgressBar":
        self._draw(force=True)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, done: float) -> None:
        self.done = done
        self._draw()

    def advance(self, amount: float = 1) -> None:
        self.update(self.done + amount)

    def close(self) -> None:
        """Draw the final state and end the line, so later output starts on a fresh line."""
        if self.enabled and self._width:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        with self._lock:
            now = self.clock()
            if not force and now - self._last_draw < self.min_interval:
                return
            self._last_draw = now
            line = bar_line(self.label, self.done, self.total, now - self.started, self.unit)
            # Pad with spaces so a shorter line fully covers the previous one.
            self.stream.write("\r" + line.ljust(self._width))
            self.stream.flush()
            self._width = max(self._width, len(line))


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or exotic stream is not a terminal
        return False


def silence_duckdb_bar(connection) -> None:
    """Stop DuckDB drawing its own bar on stdout (it does so for queries over 2 s, even into a pipe)."""
    connection.execute("SET enable_progress_bar_print = false")


@contextmanager
def watch_query_progress(connection, on_percent: Callable[[float], None], *, enabled: bool = True,
                         interval: float = 0.1) -> Iterator[None]:
    """Report DuckDB's progress (0-100) of the query running on `connection` while the block runs.

    A helper thread polls `connection.query_progress()`, which DuckDB allows during a query on
    another thread; it reports -1 between queries, which is skipped. DuckDB's own bar stays off
    either way, and its progress tracking (off by default outside a terminal) is on only meanwhile.
    """
    silence_duckdb_bar(connection)
    if not enabled:
        yield
        return
    tracking = connection.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]
    connection.execute("SET enable_progress_bar = true")
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(interval):
            percent = connection.query_progress()
            if percent >= 0:
                on_percent(percent)

    thread = threading.Thread(target=poll, name="duckdb-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        connection.execute(f"SET enable_progress_bar = {'true' if tracking else 'false'}")


class LoggedProgress:
    """Progress lines through a logger (a Dagster asset's `context.log`), at most one per `interval` seconds.

    `update`/`advance` log only when the interval has passed; `finish` always logs the final line.
    """

    def __init__(self, log, label: str, total: float | None, *, unit: str = "rows", interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        self.log, self.label, self.total, self.unit = log, label, total, unit
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self.done = 0.0
        self._last_log = self.started

    def update(self, done: float) -> None:
        self.done = done
        if self.clock() - self._last_log >= self.interval:
            self._emit()

    def advance(self, amount: float = 1) -> None:
        self.update(self.done + amount)

    def finish(self, done: float | None = None) -> str:
        if done is not None:
            self.done = done
        return self._emit()

    def _emit(self) -> str:
        now = self.clock()
        self._last_log = now
        line = progress_line(self.label, self.done, self.total, now - self.started, self.unit)
        self.log.info(line)
        return line


def log_progress(log, label: str, done: float, total: float | None, started: float, *,
                 unit: str = "rows") -> str:
    """Log one progress line now; `started` is a `time.monotonic()` reading. Returns the line."""
    line = progress_line(label, done, total, time.monotonic() - started, unit)
    log.info(line)
    return line
