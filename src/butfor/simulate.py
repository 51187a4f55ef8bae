"""The demo platform: a seeded simulator of accounts with known ground truth.

Each simulated account posts on a weekday pattern, earns impressions from its
followers and its posts, collects heavy-tailed engagement per post, and gains
followers day by day. A latent *attention* process per account moves both its
on-platform reach and an off-platform series (``pageviews``, as on Wikipedia),
which the platform's changes never touch: that is what makes it a control.

At each event date the simulator applies:

- a platform-wide shock to every account's reach (log scale),
- an extra shock to one group (the "disproportion" the audit looks for),
- a targeted shock to the subject alone,
- optionally a decline of the subject that starts before the event.

Everything is drawn once from one seeded generator; the counterfactual series
in :class:`Truth` reuse the same noise, so "observed minus counterfactual" is
the exact injected effect, not an estimate. All names are fictional.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from butfor.panel import Panel

_SYLLABLES = ["ka", "lo", "mi", "ra", "ven", "tor", "sel", "dun", "bri", "cas", "nel", "por",
              "zu", "fen", "gal", "hol", "jin", "mar", "qui", "sto"]


@dataclass(frozen=True)
class EventSpec:
    """One event: its date and the log-scale shocks it brings to reach."""

    name: str
    date: dt.date
    platform_shock: float = 0.0  # every account
    group_shocks: dict[str, float] = field(default_factory=dict)  # extra, by group
    subject_shock: float = 0.0  # the subject alone, on top of the above
    ramp_days: int = 7  # shocks phase in linearly over this many days


@dataclass(frozen=True)
class PlatformConfig:
    """Settings of the simulated platform. Defaults tell the story in DESIGN.md."""

    start: dt.date = dt.date(2022, 1, 1)
    days: int = 547
    n_peers: int = 300
    groups: tuple[str, ...] = ("left", "right")
    subject: str = "ava_sterling"
    subject_name: str = "Ava Sterling"
    subject_group: str = "left"
    subject_followers: float = 4.0e6
    events: tuple[EventSpec, ...] = (
        EventSpec("ownership change", dt.date(2022, 10, 27), platform_shock=-0.08,
                  group_shocks={"left": -0.05}, subject_shock=-0.30),
        EventSpec("verification change", dt.date(2023, 4, 20), platform_shock=-0.04),
    )
    pre_decline_start: dt.date | None = None  # the subject declines from here on ...
    pre_decline_per_day: float = 0.0  # ... by this much a day on the log scale
    attention_ar: float = 0.95
    attention_sd: float = 0.035  # each account's own wander (AR(1) innovations)
    common_attention_sd: float = 0.06  # the platform's shared wander
    reach_noise_sd: float = 0.12
    pageview_noise_sd: float = 0.10


@dataclass(frozen=True)
class Truth:
    """What the simulator injected, for tests and the demo's ground-truth table.

    The counterfactual series reuse the observed series' noise, so
    ``impressions - impressions_no_targeting`` is the exact targeted effect.
    """

    events: tuple[EventSpec, ...]
    subject: str
    dates: pd.DatetimeIndex
    impressions: np.ndarray  # the subject's observed impressions
    followers: np.ndarray
    # had nothing happened (no event shocks, no targeting, no pre-decline)
    impressions_no_events: np.ndarray
    followers_no_events: np.ndarray
    # had only the subject's own shocks (targeting, pre-decline) not happened;
    # the platform-wide and group shocks still apply
    impressions_no_targeting: np.ndarray
    followers_no_targeting: np.ndarray
    log_reach_effect: pd.DataFrame  # dates × units: total injected log-reach shift

    def subject_effect(self, against: str = "no_targeting") -> np.ndarray:
        """True daily effect on the subject's impressions (observed − counterfactual)."""
        base = {
            "no_targeting": self.impressions_no_targeting,
            "no_events": self.impressions_no_events,
        }[against]
        return self.impressions - base


@dataclass(frozen=True)
class Simulation:
    panel: Panel
    truth: Truth
    config: PlatformConfig
    seed: int


def simulate_platform(config: PlatformConfig | None = None, seed: int = 0) -> Simulation:
    """Simulate the platform; the same config and seed give the same panel."""
    cfg = config or PlatformConfig()
    rng = np.random.default_rng(seed)
    dates = pd.date_range(pd.Timestamp(cfg.start), periods=cfg.days, freq="D")
    n, T = cfg.n_peers + 1, cfg.days  # account 0 is the subject

    units, names, groups = _accounts(cfg, rng)
    group_of = np.array(groups)

    # --- account-level random effects --------------------------------------------
    log_f0 = rng.normal(np.log(2.0e5), 1.3, n)
    log_f0[0] = np.log(cfg.subject_followers)
    post_rate = rng.gamma(4.0, 0.75, n)  # mean 3 posts a day
    reach = np.exp(rng.normal(np.log(0.15), 0.3, n))  # impressions per follower-day
    eng_rate = np.exp(rng.normal(np.log(0.02), 0.35, n))  # engagements per impression
    growth = rng.normal(4e-4, 3e-4, n)  # daily follower growth
    pv_scale = np.exp(log_f0 - np.log(40.0) + rng.normal(0, 0.5, n))

    # --- latent attention: common + own AR(1), shared by reach and pageviews -------
    common = _ar1(rng, T, 1, cfg.attention_ar, cfg.common_attention_sd)[:, 0]
    own = _ar1(rng, T, n, cfg.attention_ar, cfg.attention_sd)
    attention = own + common[:, None]

    weekday = dates.day_of_week.to_numpy()
    post_season = np.array([1.1, 1.15, 1.15, 1.1, 1.0, 0.75, 0.75])[weekday]
    reach_season = np.array([0.0, 0.02, 0.03, 0.02, 0.0, -0.06, -0.05])[weekday]
    pv_season = np.array([0.03, 0.04, 0.04, 0.02, -0.02, -0.06, -0.05])[weekday]

    posts = rng.poisson(post_rate[None, :] * post_season[:, None] * np.exp(0.3 * attention))
    reach_noise = rng.normal(0, cfg.reach_noise_sd, (T, n))
    growth_noise = rng.normal(0, 2e-4, (T, n))
    pv_noise = rng.normal(0, cfg.pageview_noise_sd, (T, n))

    # --- injected shocks on log reach ---------------------------------------------
    platform = np.zeros((T, n))
    targeted = np.zeros((T, n))
    for ev in cfg.events:
        ramp = _ramp(dates, ev.date, ev.ramp_days)
        group_extra = np.array([ev.group_shocks.get(g, 0.0) for g in group_of])
        platform += ramp[:, None] * (ev.platform_shock + group_extra[None, :])
        targeted[:, 0] += ramp * ev.subject_shock
    if cfg.pre_decline_start is not None and cfg.pre_decline_per_day:
        since = (dates - pd.Timestamp(cfg.pre_decline_start)).days.to_numpy()
        targeted[:, 0] += np.clip(since, 0, None) * cfg.pre_decline_per_day

    def run(shift: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Followers, impressions and engagements for a given log-reach shift."""
        # shocks to reach slow follower growth too: a lost impression is a lost follow
        log_growth = growth[None, :] + 0.002 * attention + 0.01 * shift / 7 + growth_noise
        log_followers = log_f0[None, :] + np.cumsum(log_growth, axis=0)
        followers = np.round(np.exp(log_followers))
        log_impr = (np.log(followers) + np.log(reach)[None, :] + 0.6 * np.log1p(posts)
                    - 0.6 * np.log1p(post_rate)[None, :] + attention + reach_season[:, None]
                    + shift + reach_noise)
        impressions = np.round(np.exp(log_impr))
        return followers, impressions, log_impr

    followers, impressions, _ = run(platform + targeted)
    followers_nt, impressions_nt, _ = run(platform)
    followers_ne, impressions_ne, _ = run(np.zeros_like(platform))

    engagements = _engagements(rng, impressions, posts, eng_rate)
    pageviews = np.round(pv_scale[None, :] * np.exp(attention + pv_season[:, None] + pv_noise))

    long = pd.DataFrame({
        "unit": np.tile(np.array(units, dtype=object), T),
        "date": np.repeat(dates.to_numpy(), n),
        "followers": followers.ravel(),
        "posts": posts.ravel().astype(float),
        "impressions": impressions.ravel(),
        "engagements": engagements.ravel(),
        "pageviews": pageviews.ravel(),
    })
    unit_table = pd.DataFrame({"unit": units, "display_name": names, "group": groups})
    panel = Panel.from_frame(long, unit_table)
    truth = Truth(
        events=cfg.events,
        subject=cfg.subject,
        dates=dates,
        impressions=impressions[:, 0],
        followers=followers[:, 0],
        impressions_no_events=impressions_ne[:, 0],
        followers_no_events=followers_ne[:, 0],
        impressions_no_targeting=impressions_nt[:, 0],
        followers_no_targeting=followers_nt[:, 0],
        log_reach_effect=pd.DataFrame(platform + targeted, index=dates, columns=units),
    )
    return Simulation(panel=panel, truth=truth, config=cfg, seed=seed)


def _accounts(cfg: PlatformConfig, rng: np.random.Generator) -> tuple[list, list, list]:
    """Fictional handles and names, the subject first; groups alternate."""
    units, names, groups = [cfg.subject], [cfg.subject_name], [cfg.subject_group]
    seen = {cfg.subject}
    while len(units) < cfg.n_peers + 1:
        first = "".join(rng.choice(_SYLLABLES, 2))
        last = "".join(rng.choice(_SYLLABLES, 3))
        handle = f"{first}_{last}"
        if handle in seen:
            continue
        seen.add(handle)
        units.append(handle)
        names.append(f"{first.title()} {last.title()}")
        groups.append(cfg.groups[(len(units) - 2) % len(cfg.groups)])
    return units, names, groups


def _ar1(rng: np.random.Generator, T: int, n: int, phi: float, sd: float) -> np.ndarray:
    shocks = rng.normal(0, sd, (T, n))
    out = np.empty((T, n))
    out[0] = shocks[0] / np.sqrt(1 - phi**2)
    for t in range(1, T):
        out[t] = phi * out[t - 1] + shocks[t]
    return out


def _ramp(dates: pd.DatetimeIndex, start: dt.date, days: int) -> np.ndarray:
    """0 before ``start``, rising linearly to 1 over ``days`` days."""
    elapsed = (dates - pd.Timestamp(start)).days.to_numpy().astype(float)
    if days <= 0:
        return (elapsed >= 0).astype(float)
    return np.clip((elapsed + 1) / days, 0, 1)


def _engagements(rng: np.random.Generator, impressions: np.ndarray, posts: np.ndarray,
                 eng_rate: np.ndarray) -> np.ndarray:
    """Daily engagements: each post draws a heavy-tailed (lognormal) share of the day's."""
    T, n = impressions.shape
    expected = impressions * eng_rate[None, :]
    counts = posts.ravel()
    share_sigma = 1.0
    # per-post multipliers with mean 1; a day's engagement is the mean over its posts
    draws = rng.lognormal(-share_sigma**2 / 2, share_sigma, int(counts.sum()))
    owner = np.repeat(np.arange(counts.size), counts)
    total = np.bincount(owner, weights=draws, minlength=counts.size)
    multiplier = np.where(counts > 0, total / np.maximum(counts, 1), 0.0).reshape(T, n)
    # a day without posts still collects engagement on older posts, at a lower rate
    multiplier = np.where(posts > 0, multiplier, 0.3)
    return rng.poisson(expected * multiplier).astype(float)
