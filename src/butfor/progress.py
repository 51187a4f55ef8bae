"""One progress bar for every long command: rich's ``Progress``, shown or not with ``disable``."""

from __future__ import annotations

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
    """Add a task to ``bar``; the returned function advances it by one."""
    task = bar.add_task(description, total=total, completed=done)
    return lambda: bar.advance(task)
