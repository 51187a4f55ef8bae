"""One progress bar for every long command: rich's ``Progress``, shown or not with ``disable``."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_bar(*, disable: bool, console: Console | None = None) -> Progress:
    """A bar with a description, done/total, elapsed and remaining time, on stderr."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(),
                    console=console or Console(stderr=True), disable=disable)


def stage(bar: Progress, description: str, total: int, done: int = 0) -> Callable[[], None]:
    """Add a task to ``bar``; the returned function advances it by one.

    When the bar writes to a file or pipe rather than a terminal (a long run's
    log), where rich draws it only once at the end, a plain line is printed at
    every tenth of the way too.
    """
    task = bar.add_task(description, total=total, completed=done)
    if bar.disable or bar.console.is_terminal or total < 10:
        return lambda: bar.advance(task)
    state = {"done": done, "t0": time.perf_counter(), "next": (done * 10 // total + 1)}

    def tick() -> None:
        bar.advance(task)
        state["done"] += 1
        if state["done"] * 10 >= state["next"] * total:
            state["next"] = state["done"] * 10 // total + 1
            bar.console.print(f"{description}: {state['done']:,}/{total:,} "
                              f"({time.perf_counter() - state['t0']:.0f} s)")

    return tick
