"""SQL built safely: values always go in as parameters, names through :func:`identifier`.

DuckDB takes values (a metric name compared in a WHERE, a file path in COPY)
as ``?`` parameters, never spliced into the text. Column names cannot be
parameters; the few queries that select a user-named column quote it here, so
a metric called ``x" FROM secrets --`` stays one column name.
"""

from __future__ import annotations


def identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier (inner double quotes doubled)."""
    text = str(name)
    if "\x00" in text:
        raise ValueError("a column name cannot hold a NUL character")
    return '"' + text.replace('"', '""') + '"'
