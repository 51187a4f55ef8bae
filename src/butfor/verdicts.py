"""The verdict policy: one rule that turns an estimate and its method's checks into a verdict.

Written out for readers in ``docs/verdict-policy.md`` (the report links to it).
Every claim kind in :mod:`butfor.claims` goes through the same three steps:

1. **Gates.** The method's own checks on this data, each a :class:`Gate` with
   its name, value and bound: sampler convergence (split R-hat below 1.05,
   effective sample size stated), the known error rate on this data (at most
   twice nominal), the pre-trend test (not rejected), the pre-period fit
   (within ADH's bound), the design (can its placebo test reach the level at
   all), and no degenerate result (no interval, or a ``flags``/``degenerate``
   mark that an estimator put on its result: :mod:`butfor.methods._flags`
   names why it cannot mean what it says). One failed gate gives
   ``inconclusive``, naming the gate and its value: an estimate whose own
   checks fail is evidence of nothing, either way.
2. **Evidence.** ``supported`` needs the interval to exclude zero in the
   claimed direction (``fell``, ``rose`` or ``changed``) and the method's
   p-value (a placebo rank counts as one) at most the claim's level.
3. **Power.** Otherwise ``not supported`` only when the data could have
   detected the smallest effect of interest: the minimum detectable effect
   (80% power, measured by injecting known effects, :mod:`butfor.inference.power`)
   is at most that effect, or the interval itself rules that effect out in
   the claimed direction. Anything else is ``inconclusive``, saying the
   smallest change the data could have detected.

Sentences are built here from the very numbers the verdict used, so a
sentence cannot say one thing while the figures say another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from butfor.records import Analysis, EffectPath, Power
    from butfor.records.parts import EventStudyFit

Direction = Literal["fell", "rose", "changed"]
VerdictWord = Literal["supported", "not supported", "inconclusive"]
SUPPORTED: VerdictWord = "supported"
NOT_SUPPORTED: VerdictWord = "not supported"
INCONCLUSIVE: VerdictWord = "inconclusive"

RHAT_BOUND = 1.05  # split R-hat (Vehtari et al. 2021 recommend 1.01; 1.05 is the classic bar)
ERROR_RATE_FACTOR = 2.0  # known error rate at most twice nominal
# ADH (2010, section 3.3) drop placebo units whose pre-period MSPE is more than five
# times the treated unit's; by the same bar the subject's own fit is acceptable when its
# pre-period MSPE is at most five times the typical (median) placebo unit's
PRE_FIT_MSPE_FACTOR = 5.0
TARGET_POWER = 0.8
POLICY_DOC = "docs/verdict-policy.md"


@dataclass(frozen=True)
class Gate:
    """One check a verdict must pass, with the value it took and the bound it had to meet."""

    name: str
    passed: bool
    value: float | str | None
    bound: str
    reading: str  # what the check found, in words, for the sentence

    def to_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "value": self.value,
                "bound": self.bound, "reading": self.reading}


@dataclass(frozen=True)
class Decision:
    verdict: VerdictWord
    reason: str  # the sentence's second half: why this verdict


# ---------------------------------------------------------------------------
# words: every figure in a sentence is written by one of these
def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * abs(x):.1f}%"


def change_words(rel: float | None) -> str:
    """-0.276 -> "27.6% lower"; 0.1 -> "10.0% higher"."""
    if rel is None or not math.isfinite(rel):
        return "of unknown size"
    if rel == 0:
        return "no different"
    return f"{pct(rel)} {'lower' if rel < 0 else 'higher'}"


def interval_words(lo: float | None, hi: float | None) -> str:
    """A relative interval in words: "35.3% to 19.7% lower", "12.0% lower to 3.0% higher"."""
    if lo is None or hi is None:
        return "no interval"
    if hi < 0:
        return f"{pct(lo)} to {pct(hi)} lower"
    if lo > 0:
        return f"{pct(lo)} to {pct(hi)} higher"
    return f"{change_words(lo)} to {change_words(hi)}"


def p_words(p: float | None) -> str:
    if p is None:
        return "no p-value"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def band_words(rel: float | None, lo: float | None, hi: float | None, p: float | None,
               level: float = 0.95) -> str:
    """ "27.6% lower (95% interval 35.3% to 19.7% lower; p < 0.001)" """
    return (f"{change_words(rel)} ({level:.0%} interval {interval_words(lo, hi)}; "
            f"{p_words(p)})")


def log_to_relative(x: float | None) -> float | None:
    """A log-scale effect as a relative change: exp(x) - 1."""
    return None if x is None or not math.isfinite(x) else math.expm1(x)


# ---------------------------------------------------------------------------
# direction
def shows(direction: Direction, lower: float, upper: float) -> bool:
    """The interval excludes zero on the claimed side."""
    if direction == "fell":
        return upper < 0
    if direction == "rose":
        return lower > 0
    return upper < 0 or lower > 0


def rules_out(direction: Direction, lower: float, upper: float, size: float) -> bool:
    """The interval excludes every change at least ``size`` (relative) in the claimed direction."""
    if direction == "fell":
        return lower > -size
    if direction == "rose":
        return upper < size
    return lower > -size and upper < size


def verb(direction: Direction) -> str:
    return {"fell": "a decline", "rose": "a rise", "changed": "a change"}[direction]


# ---------------------------------------------------------------------------
# gates, read from an analysis record (butfor.records) as results.json holds it
def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and math.isfinite(float(x)) else None


def convergence_gate(analysis: Analysis, effect: EffectPath | None = None) -> Gate | None:
    conv = getattr(analysis, "convergence", None)
    if conv is None or _num(conv.max_rhat) is None:
        return None
    diag = effect.diagnostics if effect is not None else {}
    rhats = [_num(conv.max_rhat), _num(diag.get("rhat_cumulative"))]
    rhat = max(r for r in rhats if r is not None)
    ess_values = [_num(v) for v in conv.ess.values()]
    ess_values += [_num(diag.get("ess_cumulative"))]
    ess_values = [v for v in ess_values if v is not None]
    ess = min(ess_values) if ess_values else None
    ess_text = f"; smallest effective sample size {ess:,.0f}" if ess is not None else ""
    passed = rhat < RHAT_BOUND
    return Gate("convergence", passed, rhat, f"split R-hat < {RHAT_BOUND}",
                f"the sampler {'converged' if passed else 'did not converge'} (split R-hat "
                f"{rhat:.3f}, bound {RHAT_BOUND}{ess_text})")


def error_rate_gate(analysis: Analysis) -> Gate | None:
    """The method's false-positive rate at pseudo-events on this data, at most twice nominal."""
    fp = getattr(analysis, "false_positive", None)
    if fp is None or _num(fp.rate) is None:
        return None
    rate, nominal = float(fp.rate), float(fp.alpha or 0.05)
    bound = ERROR_RATE_FACTOR * nominal
    runs = fp.runs or fp.n_events
    flagged = fp.n_flagged
    count = f", {flagged} of {runs} pseudo-events" if flagged is not None and runs else ""
    passed = rate <= bound + 1e-12
    return Gate("known_error_rate", passed, rate, f"<= {bound:.0%} (twice nominal)",
                f"the known error rate on this data is {rate:.0%}{count} (nominal "
                f"{nominal:.0%}, bound {bound:.0%})")


def rank_error_rate_gate(n_placebo: int, alpha: float) -> Gate:
    """A rank test's false-positive rate is floor(alpha (n + 1)) / (n + 1) by construction."""
    rate = math.floor(alpha * (n_placebo + 1) + 1e-9) / (n_placebo + 1)
    return Gate("known_error_rate", True, rate, f"<= {alpha:.0%} (by construction)",
                f"a rank test among {n_placebo} placebo units flags a unit nothing singled "
                f"out with probability {rate:.3f}")


def _event_study_of(analysis: Analysis) -> EventStudyFit | None:
    es = getattr(analysis, "event_study", None)
    if es is not None:
        return es
    group = getattr(analysis, "group_disproportion", None)
    return None if group is None else group.event_study


def pretrend_test(analysis: Analysis) -> dict | None:
    """The analysis's pre-trend test as {p_value, slope}: its own, or its event study's."""
    own = getattr(analysis, "pretrend", None)
    if own is not None:
        return own.to_dict()
    es = _event_study_of(analysis)
    test = None if es is None else es.pretrend
    untestable = test is not None and test.test == "untestable"
    if test is None or (_num(test.p_value) is None and not untestable):
        return None
    pre = [e for t, e in zip(es.event_times, es.estimate, strict=False)
           if t < 0 and e is not None]
    slope = None
    if len(pre) >= 2:
        # the sign of the drift into the event: late pre-period minus early pre-period
        half = len(pre) // 2
        slope = sum(pre[half:]) / len(pre[half:]) - sum(pre[:half]) / half
    if untestable:
        return {"p_value": None, "slope": slope, "test": "untestable",
                "why": (test.bootstrap or {}).get("skipped")}
    return {"p_value": test.p_value, "slope": slope, "test": test.test}


def pretrend_gate(analysis: Analysis, alpha: float) -> Gate | None:
    """The pre-trend test's own p-value (for a clustered event study, the wild cluster
    bootstrap's: its analytic F p-value over-rejects with many pre-periods and few clusters)."""
    test = pretrend_test(analysis)
    if test is not None and test.get("test") == "untestable":
        # no test is not a passed test: parallel paths cannot be checked with these accounts
        return Gate("pretrend", False, None, f"p > {alpha:g}",
                    f"the pre-trend test cannot be run ({test.get('why') or 'too few accounts'})")
    if test is None or _num(test.get("p_value")) is None:
        return None
    p = float(test["p_value"])
    passed = p > alpha
    how = f"{test['test']}, " if test.get("test") == "wild cluster bootstrap" else ""
    return Gate("pretrend", passed, p, f"p > {alpha:g}",
                "the pre-trend test does not reject parallel paths before the event "
                f"({how}{p_words(p)})" if passed else
                f"the pre-trend test rejects parallel paths before the event ({how}{p_words(p)})")


def pre_fit_gate(analysis: Analysis) -> Gate | None:
    """Synthetic control: the subject's pre-period fit no worse than ADH's bar for placebos."""
    placebo = getattr(analysis, "placebo", None)
    if placebo is None:
        return None
    subject = _num(placebo.subject_pre_rmspe)
    others = sorted(v for v in (_num(x) for x in placebo.pre_rmspe or []) if v is not None)
    if subject is None or not others:
        return None
    median = others[len(others) // 2] if len(others) % 2 else \
        (others[len(others) // 2 - 1] + others[len(others) // 2]) / 2
    ratio = (subject / median) ** 2 if median > 0 else math.inf
    passed = ratio <= PRE_FIT_MSPE_FACTOR
    return Gate("pre_fit", passed, ratio, f"pre-period MSPE <= {PRE_FIT_MSPE_FACTOR:g}x the "
                "median placebo's",
                f"the subject's pre-period fit (RMSPE {subject:.3g}) is {ratio:.1f} times the "
                f"median placebo unit's squared error (bound {PRE_FIT_MSPE_FACTOR:g})")


def placebo_units(analysis: Analysis) -> int | None:
    """How many placebo units the analysis's p-value ranks against, where it is a rank test."""
    placebo = getattr(analysis, "placebo", None)
    if placebo is not None and placebo.values is not None:
        return len(placebo.values)
    es = getattr(analysis, "event_study", None)
    if es is not None and es.inference == "placebo" and isinstance(es.placebo, dict):
        return len(es.placebo.get("units") or [])
    return None


def design_gate(n_placebo: int | None, alpha: float, what: str = "peers") -> Gate | None:
    """A rank test over n units cannot give p below 1/(n + 1): can this design reach the level?"""
    if n_placebo is None:
        return None
    smallest = 1 / (n_placebo + 1)
    passed = smallest <= alpha + 1e-12
    needed = math.ceil(1 / alpha - 1 - 1e-9)
    return Gate("design", passed, smallest, f"smallest attainable p <= {alpha:g}",
                f"with {n_placebo} {what} the smallest attainable placebo p is 1/"
                f"{n_placebo + 1} = {smallest:.3f}" + ("" if passed else
                f", above the level {alpha:g}: this design cannot support the claim whatever "
                f"the data show; at least {needed} {what} are needed"))


def degenerate_gate(analysis: Analysis, numbers: list[float | None]) -> Gate:
    """Fails on a missing or non-finite figure, or on a flag an estimator put on its result."""
    flags: list[str] = [_flag_words(f.name, f.message) for f in analysis.flags or []]
    effect = getattr(analysis, "effect", None)
    diagnostics = effect.diagnostics if effect is not None else {}
    for key in ("flags", "degenerate"):  # an effect path's own marks (free-form diagnostics)
        value = diagnostics.get(key)
        if isinstance(value, str) and value:
            flags.append(value)
        elif isinstance(value, dict):
            flags += [f"{k}: {v}" if not isinstance(v, bool) else k
                      for k, v in value.items() if v]
        elif isinstance(value, list):  # butfor.methods._flags: name, message, values
            flags += [_flag_words(v.get("name"), v.get("message")) or str(v)
                      if isinstance(v, dict) else str(v) for v in value]
        elif value is True:
            flags.append(key)
    missing = any(_num(x) is None for x in numbers)
    if missing:
        flags.append("the method returned no finite estimate or interval")
    passed = not flags
    return Gate("degenerate", passed, None if passed else "; ".join(flags), "no flags",
                "the result is not degenerate" if passed else
                "the degenerate gate failed (" + "; ".join(flags) + ")")


def _flag_words(name: str | None, message: str | None) -> str:
    """ "edge_estimate: the estimate is a 99.5% fall ..." (a flag's name, then its reason)."""
    if name and message:
        return f"{name}: {message}"
    return str(message or name or "")


# ---------------------------------------------------------------------------
# the decision
def decide(*, direction: Direction, gates: list[Gate], evidence: bool, finding: str,
           lower: float | None, upper: float | None, smallest: float,
           power: Power | dict | None) -> Decision:
    """Gates first, then the evidence, then power; ``finding`` says what the estimate was.

    ``lower``/``upper`` bound the relative change (the interval rule of step 3);
    ``power`` is a power curve as :class:`butfor.inference.power.PowerCurve` writes it.
    """
    failed = [g for g in gates if not g.passed]
    if failed:
        return Decision(INCONCLUSIVE, f"{finding}; but {'; and '.join(g.reading for g in failed)}"
                                      ", so the estimate cannot carry a verdict either way.")
    if evidence:
        return Decision(SUPPORTED, f"{finding}: the whole interval lies on the side of "
                                   f"{verb(direction)}, and every check of the method passed.")
    mde = minimum_detectable(power, direction)
    if mde is not None and mde <= smallest:
        return Decision(NOT_SUPPORTED, f"{finding}; the data could have detected {verb(direction)}"
                                       f" of {pct(mde)} with {TARGET_POWER:.0%} power "
                                       f"({_power_how(power)}), and showed none.")
    if lower is not None and upper is not None and rules_out(direction, lower, upper, smallest):
        return Decision(NOT_SUPPORTED, f"{finding}; the interval rules out {verb(direction)} of "
                                       f"{pct(smallest)} or more.")
    if mde is not None:
        return Decision(INCONCLUSIVE, f"{finding}; the data could not detect a change smaller "
                                      f"than {pct(mde)} ({TARGET_POWER:.0%} power, "
                                      f"{_power_how(power)}), so no effect of "
                                      f"{pct(smallest)} is ruled out.")
    if power is not None:
        largest = max((abs(e) for e in _power_field(power, "effects") or []), default=None)
        beyond = f" (none up to {pct(largest)} reached {TARGET_POWER:.0%} power)" \
            if largest else ""
        return Decision(INCONCLUSIVE, f"{finding}; the data could not detect a change of any size "
                                      f"tried{beyond}.")
    return Decision(INCONCLUSIVE, f"{finding}; the interval is too wide to rule out "
                                  f"{verb(direction)} of {pct(smallest)}, and no power was "
                                  "measured for this method.")


def _power_field(power: Power | dict | None, key: str) -> Any:
    """A field of a power curve: a record's (butfor.records.Power), or a curve's dict
    (``butfor power`` and the pipeline's curves before they are attached)."""
    if isinstance(power, dict):
        return power.get(key)
    return getattr(power, key, None)


def minimum_detectable(power: Power | dict | None, direction: Direction) -> float | None:
    """The smallest relative change (magnitude) detected with 80% power in ``direction``."""
    if not power:
        return None
    key = {"fell": "mde_fell", "rose": "mde_rose", "changed": "mde_changed"}[direction]
    value = _power_field(power, key)
    if direction == "changed" and value is None:
        both = [_power_field(power, "mde_fell"), _power_field(power, "mde_rose")]
        value = None if None in both else max(both)
    return _num(value)


def _power_how(power: Power | dict | None) -> str:
    if not power:
        return ""
    return str(_power_field(power, "how") or "measured by injecting known effects")


# ---------------------------------------------------------------------------
# change points: the one dating both the verdict and the report read
def dating_changepoint(analyses: list[Analysis], metric: str) -> Analysis | None:
    """The change-point analysis whose date to believe, when level and slope models disagree.

    The one whose dated change explains the series better (smaller BIC of that one step
    or kink on the whole series, ``changepoint.dated_bic``): a slope model fitted to a
    jump dates the "change" too early, a level model fitted to a bend too late.
    ``not_preexisting`` reads this one, and the report marks the others. Results written
    before the BIC was recorded fall back to the smaller noise scale.
    """
    found = [a for a in analyses if a.method == "changepoint" and a.metric == metric]
    if not found:
        return None
    if all(_num(a.changepoint.bic) is not None for a in found):
        return min(found, key=lambda a: _num(a.changepoint.bic))
    return min(found, key=lambda a: _num(a.changepoint.sigma) or math.inf)


def before_event_check(analyses: list[Analysis], metric: str, claim: Any):
    """The run's check for a decline begun before the event (``changepoint_before``), for the
    claim's tolerance and direction (a :class:`butfor.records.kinds.OnsetCheck`); None when
    the run has none (older results, no event)."""
    found = [b for a in analyses if a.method == "changepoint"
             and a.metric == metric for b in a.before_event or []
             if b.tolerance_days == claim.tolerance_days
             and b.direction == claim.direction]
    return found[0] if found else None
