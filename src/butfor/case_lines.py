"""Where a key of a TOML case file is written: its line, for error messages.

``find_line(text, ("claims", 2, "event"))`` is the line of ``event = ...`` in
the third ``[[claims]]`` table; ``("peers", "units", 1)`` is the line holding
the second entry of ``units = [...]`` (an array may span lines). tomllib keeps
no positions, so this reads the text line by line, which suits the tables,
arrays of tables and dotted keys case files use; it returns None rather than a
wrong line when it cannot tell.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("\"'") for p in dotted.split("."))


def _key_lines(text: str) -> list[tuple[tuple, int]]:
    """(full key path with array indices, 1-based line) of every header and key line."""
    out: list[tuple[tuple, int]] = []
    counts: dict[tuple, int] = {}
    table: tuple = ()
    depth = 0  # open brackets of a multi-line array: its lines hold no keys
    for number, line in enumerate(text.splitlines(), start=1):
        if depth == 0:
            header = _HEADER.match(line)
            if header:
                names = _parts(header.group(2))
                if header.group(1) == "[[":
                    counts[names] = counts.get(names, -1) + 1
                    table = (*names, counts[names])
                else:
                    table = _with_indices(names, counts)
                out.append((table, number))
                continue
            key = _KEY.match(line)
            if key:
                out.append(((*table, *_parts(key.group(1))), number))
        depth = max(0, depth + _brackets(line))
    return out


def _with_indices(names: tuple, counts: dict[tuple, int]) -> tuple:
    """``[damages.persistence]`` under ``[[damages]]``-style arrays gets their current index."""
    path: tuple = ()
    for i, name in enumerate(names):
        path = (*path, name)
        prefix = names[: i + 1]
        if prefix in counts and i + 1 < len(names):
            path = (*path, counts[prefix])
    return path


def _brackets(line: str) -> int:
    """Net opening brackets on a line, outside strings and comments (for multi-line arrays)."""
    code = re.sub(r"\"(?:[^\"\\]|\\.)*\"|'[^']*'", "", line).split("#", 1)[0]
    return code.count("[") + code.count("{") - code.count("]") - code.count("}")


def find_line(text: str, loc: tuple | list, *, exact: bool = False) -> int | None:
    """The line of the key at ``loc`` (strings are keys, ints array indices), or None.

    When the key itself is not written (a missing key), the line of the nearest
    enclosing table or key, unless ``exact``.
    """
    if not text or not loc:
        return None
    loc = tuple(loc)
    lines = _key_lines(text)
    # the longest prefix of loc written as a key or a header
    for cut in range(len(loc), len(loc) - 1 if exact else 0, -1):
        want = loc[:cut]
        for path, number in lines:
            if path == want:
                if cut < len(loc) and isinstance(loc[cut], int) and cut == len(loc) - 1:
                    return _array_item_line(text, number, loc[cut])
                return number
    return None


def _array_item_line(text: str, first: int, index: int) -> int:
    """The line holding item ``index`` of the array whose key is on line ``first``."""
    lines = text.splitlines()
    seen = 0
    depth = 0
    for number in range(first, len(lines) + 1):
        line = lines[number - 1]
        body = line.split("=", 1)[1] if number == first and "=" in line else line
        for token in re.finditer(r"\"(?:[^\"\\]|\\.)*\"|'[^']*'|[\[\]{},]|#.*", body):
            t = token.group(0)
            if t.startswith("#"):
                break
            if t in "[{":
                depth += 1
            elif t in "]}":
                depth -= 1
                if depth == 0:
                    return first
            elif t == "," and depth == 1:
                seen += 1
            elif depth == 1 and seen == index and t[0] in "\"'":
                return number
    return first
