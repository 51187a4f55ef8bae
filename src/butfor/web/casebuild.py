"""The case form: plain fields -> a case file (TOML text) -> a validated Case.

The page never builds a Case object by hand: it writes the TOML a user could
have written, and :func:`butfor.case.parse_case` judges it, so the page and
``butfor run`` accept and refuse the same things with the same sentences. An
error is shown beside the field its key came from (:func:`field_of`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib

from pydantic import ValidationError

from butfor.case import Case, parse_case
from butfor.errors import ButforError
from butfor.transforms import TRANSFORMS as _CASE_TRANSFORMS

CASE_FILE = "case.toml"
N_EVENTS = 3
METHOD_CHOICES = {
    "prepost": "before and after, against the peers",
    "sts": "forecast of the account's own series (structural time series)",
    "synthetic_control": "synthetic control from peer accounts",
    "sdid": "synthetic difference-in-differences",
    "event_study": "event study with group comparisons",
    "changepoint": "when did the decline begin (change points)",
    "peer_effects": "the account ranked among its peers (targeted or platform-wide?)",
}
# the claims in plain sentences, as a creator would put them
CLAIM_CHOICES = {
    "declined_after": "My reach fell after the change.",
    "beyond_platform_trend": "It was not a decline every account shared.",
    "not_preexisting": "My decline did not start before the change.",
    "targeted": "The change was aimed at me, not a business decision for everyone.",
    "disproportionate": "The change hit one group of accounts harder than another.",
    "income_loss": "The change cost me income.",
    "claimed_amount": "The harm is worth the amount I claim.",
}
TRANSFORMS = _CASE_TRANSFORMS  # the case file's own list, so the form offers every scale


def blank_form(summary: dict) -> dict:
    """Defaults for a new case on an upload with this summary."""
    metrics = summary.get("metrics", [])
    metric = next((m for m in ("impressions", "views", "pageviews", "followers")
                   if m in metrics), metrics[0] if metrics else "")
    return {
        "title": "But for the change, what would this account's reach have been?",
        "seed": "1", "subject": (summary.get("units") or [""])[0], "display_name": "",
        "metric": metric, "transform": "log1p" if metric != "followers" else "none",
        "event_name_1": "the change", "event_date_1": "", "event_scope_1": "platform",
        "methods": ["prepost"], "peers_groups": "", "peers_units": "", "peers_exclude": "",
        "controls_metric": "", "controls_units": "", "group_a": "", "group_b": "",
        "claims": ["declined_after"], "amount": "", "cpm_rate": "", "cpm_rate_low": "",
        "cpm_rate_high": "", "cpm_metric": metric, "currency": "USD", "discount_rate": "",
        "pdf": False,
    }


def form_from(fields: dict) -> dict:
    """The form as submitted, normalised: strings stripped, lists for the check boxes."""
    out: dict = {}
    for key, value in fields.items():
        if key in ("methods", "claims"):
            out[key] = [v for v in (value if isinstance(value, list) else [value])
                        if v in (METHOD_CHOICES if key == "methods" else CLAIM_CHOICES)]
        elif key == "pdf":
            out[key] = value not in (None, "", False, "0", "off")
        elif key in _FORM_KEYS or re.fullmatch(r"(allegation_[a-z_]+|event_(name|date|scope)_\d)",
                                               key):
            out[key] = str(value if not isinstance(value, list) else value[-1]).strip()[:500]
    return out


_FORM_KEYS = set(blank_form({"metrics": ["x"], "units": ["x"]}))


def events_of(form: dict) -> list[dict]:
    rows = []
    for i in range(1, N_EVENTS + 1):
        name, date = form.get(f"event_name_{i}", ""), form.get(f"event_date_{i}", "")
        if name or date:
            rows.append({"row": i, "name": name or f"event {i}", "date": date,
                         "scope": form.get(f"event_scope_{i}") or "platform"})
    return rows


def case_toml(form: dict, data: dict) -> str:
    """The case file the form describes; ``data`` is the [data] section (files, format...)."""
    lines = [f"methods = {_list(form.get('methods') or ['prepost'])}", "", "[case]",
             f"title = {_str(form.get('title') or 'butfor case')}",
             f"seed = {_value(form.get('seed') or '0')}", "", "[data]",
             f"files = {_list(data['files'])}"]
    for key in ("format", "unit", "timezone"):
        if data.get(key):
            lines.append(f"{key} = {_str(data[key])}")
    lines += ["", "[subject]", f"unit = {_str(form.get('subject', ''))}"]
    if form.get("display_name"):
        lines.append(f"display_name = {_str(form['display_name'])}")
    lines += ["", "[outcome]", f"metric = {_str(form.get('metric', ''))}",
              f"transform = {_str(form.get('transform') or 'none')}"]
    events = events_of(form)
    for e in events:
        lines += ["", "[[events]]", f"name = {_str(e['name'])}", f"date = {_date(e['date'])}",
                  f"scope = {_str(e['scope'])}"]
    peers = {k: _split(form.get(f"peers_{k}", "")) for k in ("groups", "units", "exclude")}
    if any(peers.values()):
        lines += ["", "[peers]", *(f"{k} = {_list(v)}" for k, v in peers.items() if v)]
    controls_units = _split(form.get("controls_units", ""))
    if form.get("controls_metric") or controls_units:
        lines += ["", "[controls]"]
        if controls_units:
            lines.append(f"units = {_list(controls_units)}")
        if form.get("controls_metric"):
            lines.append(f"metric = {_str(form['controls_metric'])}")
    if form.get("group_a") or form.get("group_b"):
        lines += ["", "[groups]", f"compare = {_list([form.get('group_a', ''), form.get('group_b', '')])}"]
    first_event = events[0]["name"] if events else None
    for kind in form.get("claims") or []:
        lines += ["", "[[claims]]", f"id = {_str(kind.replace('_', '-'))}", f"kind = {_str(kind)}",
                  f"allegation = {_str(form.get(f'allegation_{kind}') or CLAIM_CHOICES[kind])}"]
        if first_event:
            lines.append(f"event = {_str(first_event)}")
        if kind == "disproportionate" and (form.get("group_a") or form.get("group_b")):
            lines += [f"group_a = {_str(form.get('group_a', ''))}",
                      f"group_b = {_str(form.get('group_b', ''))}"]
        if kind == "claimed_amount" and form.get("amount"):
            lines.append(f"amount = {_value(form['amount'])}")
    if form.get("cpm_rate"):
        lines += ["", "[damages]", f"currency = {_str(form.get('currency') or 'USD')}"]
        if form.get("amount"):
            lines.append(f"amount_claimed = {_value(form['amount'])}")
        if form.get("discount_rate"):
            lines.append(f"discount_rate = {_value(form['discount_rate'])}")
        lines += ["", "[[damages.pricing]]", 'kind = "cpm"',
                  f"metric = {_str(form.get('cpm_metric') or form.get('metric', ''))}",
                  f"rate = {_value(form['cpm_rate'])}"]
        for key in ("rate_low", "rate_high"):
            if form.get(f"cpm_{key}"):
                lines.append(f"{key} = {_value(form[f'cpm_{key}'])}")
    if form.get("pdf"):
        lines += ["", "[report]", "pdf = true"]
    return "\n".join(lines) + "\n"


def validate(text: str) -> Case:
    """The Case, or ButforError carrying the CLI's sentence and ``.field`` for the page."""
    raw = tomllib.loads(text)
    try:
        return parse_case(raw, text, CASE_FILE)
    except ButforError as err:
        err.field = _field_of_raw(raw)
        raise


def _field_of_raw(raw: dict) -> str:
    try:
        Case.model_validate(raw)
    except ValidationError as err:
        return field_of(err.errors()[0]["loc"])
    return "form"


def field_of(loc: tuple) -> str:
    """The form field behind a case-file key (``("events", 0, "date")`` -> ``event_date_1``)."""
    parts = list(loc)
    head = parts[0] if parts else ""
    simple = {("case", "title"): "title", ("case", "seed"): "seed",
              ("subject", "unit"): "subject", ("subject", "display_name"): "display_name",
              ("outcome", "metric"): "metric", ("outcome", "transform"): "transform",
              ("controls", "metric"): "controls_metric", ("controls", "units"): "controls_units",
              ("groups", "compare"): "group_a", ("damages", "amount_claimed"): "amount",
              ("damages", "discount_rate"): "discount_rate", ("damages", "currency"): "currency"}
    if tuple(parts[:2]) in simple:
        return simple[tuple(parts[:2])]
    if head == "events":
        if len(parts) > 2 and isinstance(parts[1], int):
            return f"event_{parts[2] if parts[2] in ('name', 'date', 'scope') else 'name'}_{parts[1] + 1}"
        return "event_name_1"
    if head == "peers":
        return f"peers_{parts[1]}" if len(parts) > 1 else "peers_groups"
    if head == "claims":
        return "amount" if "amount" in parts else "claims"
    if head == "damages":
        last = [p for p in parts if isinstance(p, str)][-1]
        return {"rate": "cpm_rate", "rate_low": "cpm_rate_low", "rate_high": "cpm_rate_high",
                "metric": "cpm_metric"}.get(last, "cpm_rate")
    if head in ("methods", "method_events"):
        return "methods"
    return "form"


def field_of_data_error(message: str, form: dict) -> str:
    """The field a check against the data (subject, metric, event date) is about."""
    if "the subject" in message:
        return "subject"
    for e in events_of(form):
        if f"event {e['name']!r}" in message:
            return f"event_date_{e['row']}"
    if "metric" in message:
        match = re.search(r"metric '([^']*)'", message)
        name = match.group(1) if match else None
        if name and name == form.get("controls_metric"):
            return "controls_metric"
        return "metric"
    return "form"


# -- TOML values -------------------------------------------------------------
def _str(value: str) -> str:
    # a JSON string is a TOML basic string, once DEL (which JSON leaves as it is, TOML
    # refuses) is escaped too
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def _list(values: list[str]) -> str:
    return "[" + ", ".join(_str(v) for v in values) + "]"


def _split(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,\n]", text or "") if p.strip()]


def _value(text: str) -> str:
    """A number as a TOML number; anything else quoted, so the case's check names it."""
    text = str(text).strip().replace("_", "")
    if re.fullmatch(r"[+-]?\d+", text):
        return str(int(text))
    try:
        number = float(text)
    except ValueError:
        return _str(text)
    return repr(number) if number == number and abs(number) != float("inf") else _str(text)


def _date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return _str(text)
