"""Small shared helpers for turning raw samples into the report's figures."""

import math
import statistics

MB = 1024 * 1024
PATHS = ("native", "converse")
PATH_TITLE = {"native": "native", "converse": "Converse"}


def base(name: str) -> str:
    """The `direct` run a contender's added figures are taken over: the same path's (LiteLLM goes
    to Converse)."""
    return "direct-converse" if name == "litellm" else "direct-" + name.split("-", 1)[1]


def pct(values: list, q: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))]


def spread(values: list) -> tuple:
    """(median, min, max) over rounds."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return (math.nan, math.nan, math.nan)
    return (statistics.median(values), min(values), max(values))


def fmt(t: tuple, digits: int = 3) -> str:
    m, lo, hi = t
    if math.isnan(m):
        return "–"
    if lo == hi:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} <sub>({lo:.{digits}f}–{hi:.{digits}f})</sub>"


def ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan
