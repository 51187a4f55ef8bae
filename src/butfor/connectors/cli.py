"""``butfor fetch ...``: the command line of the connectors, registered by :mod:`butfor.cli`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from butfor.choices import Access, Agent, Granularity, value

Start = Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")]
End = Annotated[str, typer.Option(help="Last day, YYYY-MM-DD.")]
Store = Annotated[Path, typer.Option(help="DuckDB store file.")]
Cache = Annotated[Path | None, typer.Option(
    help="Cache folder (default: 'cache' beside the store).")]
Refresh = Annotated[bool, typer.Option(
    "--refresh", help="Ask again even for requests answered before.")]
Zone = Annotated[str | None, typer.Option(
    help="Time zone of the account-days (default UTC, noted).")]


def _day(value: str, option: str) -> dt.date:
    from butfor.errors import InputError

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(None, f"{option} '{value}' is not a date",
                         f"write it as YYYY-MM-DD, e.g. {option} 2022-09-01") from None


def register_fetch(app: typer.Typer, friendly: Callable, console: Console,
                   default_store: Path) -> None:
    """Add ``fetch wikipedia|x|bluesky`` to ``app``."""
    fetch = typer.Typer(help="Fetch off-platform controls into the store (the only commands "
                        "that go online; responses are cached).", no_args_is_help=True)
    app.add_typer(fetch, name="fetch")

    @fetch.command("wikipedia")
    @friendly
    def wikipedia(
        articles: Annotated[list[str], typer.Argument(help="Article titles (as in the URL).")],
        start: Start,
        end: End,
        project: Annotated[str, typer.Option(help="Wiki, e.g. en.wikipedia.")] = "en.wikipedia",
        access: Annotated[Access, typer.Option(
            help="all-access, desktop, mobile-web or mobile-app.")] = Access.all_access,
        agent: Annotated[Agent, typer.Option(
            help="user, all-agents, spider or automated.")] = Agent.user,
        granularity: Annotated[Granularity, typer.Option(
            help="daily or monthly.")] = Granularity.daily,
        store: Store = default_store,
        cache: Cache = None,
        refresh: Refresh = False,
    ) -> None:
        """Daily (or monthly) pageviews of Wikipedia articles, from Wikimedia's REST API."""
        from butfor.connectors.commands import fetch_wikipedia_command

        fetch_wikipedia_command(articles, start=_day(start, "--start"), end=_day(end, "--end"),
                                project=project, access=value(access),
                                agent=value(agent), granularity=value(granularity), store_path=store, cache_dir=cache,
                                refresh=refresh, console=console)

    @fetch.command("x")
    @friendly
    def x(
        handle: Annotated[str, typer.Argument(help="The account's handle.")],
        start: Start,
        end: End,
        timezone: Zone = None,
        store: Store = default_store,
        cache: Cache = None,
        refresh: Refresh = False,
    ) -> None:
        """An X account's posts and public metrics (API v2; token in X_BEARER_TOKEN)."""
        from butfor.connectors.commands import fetch_x_command

        fetch_x_command(handle, start=_day(start, "--start"), end=_day(end, "--end"),
                        timezone=timezone, store_path=store, cache_dir=cache, refresh=refresh,
                        console=console)

    @fetch.command("bluesky")
    @friendly
    def bluesky(
        handle: Annotated[str, typer.Argument(help="The handle, e.g. name.bsky.social.")],
        start: Start,
        end: End,
        timezone: Zone = None,
        store: Store = default_store,
        cache: Cache = None,
        refresh: Refresh = False,
    ) -> None:
        """A Bluesky account's posts and their counts (public API, no key)."""
        from butfor.connectors.commands import fetch_bluesky_command

        fetch_bluesky_command(handle, start=_day(start, "--start"), end=_day(end, "--end"),
                              timezone=timezone, store_path=store, cache_dir=cache,
                              refresh=refresh, console=console)
