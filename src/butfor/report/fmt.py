"""Numbers, money, dates and p-values written for people, the same way every time.

Pure functions of their arguments: no locale, no clock, so a report renders to
the same bytes on any machine. Negative numbers use the typographic minus (−).
"""

from __future__ import annotations

import datetime as dt
import math

MINUS = "\u2212"
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
DASH = "–"


def is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _minus(text: str) -> str:
    return text.replace("-", MINUS)


def number(x: object, digits: int = 3) -> str:
    """A readable number: 1,234 / 1.23 million / 0.0123; a dash for missing."""
    if not is_number(x):
        return DASH
    v = float(x)  # type: ignore[arg-type]
    a = abs(v)
    if a >= 1e9:
        text = f"{v / 1e9:.{digits}g} billion"
    elif a >= 1e6:
        text = f"{v / 1e6:.{digits}g} million"
    elif a >= 1000:
        text = f"{v:,.0f}"
    elif a >= 100 or v == int(v):
        text = f"{v:.0f}"
    else:
        text = f"{v:.{digits}g}"
    return _minus(text)


def signed(x: object, digits: int = 3) -> str:
    """A number with its sign always shown: +1,234 / −0.5."""
    if not is_number(x):
        return DASH
    text = number(x, digits)
    return text if text.startswith(MINUS) or float(x) == 0 else "+" + text  # type: ignore[arg-type]


def percent(x: object, *, sign: bool = True, digits: int = 0) -> str:
    """A share as a percentage: 0.384 → −38%."""
    if not is_number(x):
        return DASH
    v = 100 * float(x)  # type: ignore[arg-type]
    if abs(v) < 10 and digits == 0 and round(v) != v:
        digits = 1
    text = f"{v:+.{digits}f}%" if sign else f"{v:.{digits}f}%"
    if text in ("+0%", "-0%", "+0.0%", "-0.0%"):
        text = text[1:]
    return _minus(text)


def money(x: object, currency: str = "USD") -> str:
    """$1.2 million / $400 million / $12,300 / CHF 5,000."""
    if not is_number(x):
        return DASH
    v = float(x)  # type: ignore[arg-type]
    symbol = _SYMBOLS.get(currency.upper(), currency.upper() + " ")
    a = abs(v)
    if a >= 1e9:
        body = f"{a / 1e9:.3g} billion"
    elif a >= 1e6:
        body = f"{a / 1e6:.3g} million"
    elif a >= 1000:
        body = f"{a:,.0f}"
    else:
        body = f"{a:.0f}" if a >= 10 else f"{a:.2f}"
    return (MINUS if v < 0 else "") + symbol + body


def money_short(x: float, currency: str = "USD") -> str:
    """Axis-tick money: $1.2M, $400M, $35k."""
    symbol = _SYMBOLS.get(currency.upper(), currency.upper() + " ")
    a = abs(x)
    if a >= 1e9:
        body = f"{a / 1e9:.3g}B"
    elif a >= 1e6:
        body = f"{a / 1e6:.3g}M"
    elif a >= 1e3:
        body = f"{a / 1e3:.3g}k"
    else:
        body = f"{a:.0f}"
    return (MINUS if x < 0 else "") + symbol + body


def p_value(p: object) -> str:
    if not is_number(p):
        return "p not available"
    v = float(p)  # type: ignore[arg-type]
    if v < 0.001:
        return "p < 0.001"
    if v < 0.01:
        return f"p = {v:.3f}"
    return f"p = {v:.2f}"


def parse_date(d: object) -> dt.date | None:
    if isinstance(d, dt.date):
        return d
    if isinstance(d, str) and len(d) >= 10:
        try:
            return dt.date.fromisoformat(d[:10])
        except ValueError:
            return None
    return None


def date(d: object) -> str:
    """27 Oct 2022 (from an ISO date string or a date); the input itself if unparseable."""
    parsed = parse_date(d)
    if parsed is None:
        return DASH if d is None else str(d)
    return f"{parsed.day} {_MONTHS[parsed.month - 1]} {parsed.year}"


def days_between(a: object, b: object) -> int | None:
    """b − a in days, or None."""
    pa, pb = parse_date(a), parse_date(b)
    if pa is None or pb is None:
        return None
    return (pb - pa).days


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def seconds(x: object) -> str:
    if not is_number(x):
        return DASH
    v = float(x)  # type: ignore[arg-type]
    if v < 1:
        return f"{v * 1000:.0f} ms"
    if v < 120:
        return f"{v:.1f} s"
    return f"{v / 60:.1f} min"
