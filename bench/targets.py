"""The targets table (each target with the figure measured and ✅/❌, or ❔ where the figure cannot
be judged) and the SDK's own cost, for both of Chatrix's Claude paths: native (InvokeModel, the
default) and Converse."""

import math
import statistics

import workload
from figures import MB, PATH_TITLE, PATHS, fmt, ratio, spread


def sdk_alone(data: dict, path: str) -> tuple:
    """(SDK client, bare hyper client) CPU µs per call on `path`, each (median, min, max)."""
    runs = [r[path] for r in data.get("sdk_cost") or [] if path in r]
    return spread([r["sdk"] for r in runs]), spread([r["hyper"] for r in runs])


def at_most(limit: float):
    """The verdict on an added figure, or a ratio of two, that must not exceed `limit`: None (❔)
    below zero, where a baseline's noise outweighed the difference."""
    return lambda v: None if v < 0 else v <= limit


def targets(data: dict, s) -> list[tuple]:
    """(target, figure, limit, verdict) rows, each target for both paths side by side; a target
    whose contenders are missing is skipped."""
    rows = []
    have = set(s.names)
    paths = [p for p in PATHS if {f"chatrix-{p}", f"floor-{p}"} <= have]

    def add(name: str, value: float, limit: str, ok: bool | None, unit: str = "") -> None:
        """`ok` is None when the figure cannot be judged (❔)."""
        shown = "–" if math.isnan(value) else f"{value:.3g}{unit}"
        rows.append((name, shown, limit, {True: "✅", False: "❌", None: "❔"}[ok]))

    def each(title: str, figure, limit: str, ok, unit: str) -> None:
        for p in paths:
            v = figure(p, f"chatrix-{p}", f"floor-{p}")
            add(f"{PATH_TITLE[p]}: {title}", v, limit, ok(v), unit)

    for q, k in (("p50", 3), ("p99", 5)):
        each(f"added latency {q}, c=1: Chatrix ÷ floor",
             lambda p, c, f: ratio(s.med(c, f"small_added_{q}"), s.med(f, f"small_added_{q}")),
             f"≤ {k}×", at_most(k), "×")
    each("added latency p50, c=1, 1 MB Claude Code-shaped request",
         lambda p, c, f: s.med(c, "huge_added_p50"), "≤ 3 ms", at_most(3), " ms")
    each("throughput: Chatrix ÷ floor", lambda p, c, f: ratio(s.med(c, "rps"), s.med(f, "rps")),
         "≥ 0.5×", lambda v: v >= 0.5, "×")
    each("CPU per request: Chatrix ÷ floor",
         lambda p, c, f: ratio(s.med(c, "cpu_us_per_request"), s.med(f, "cpu_us_per_request")),
         "≤ 2.5×", lambda v: v <= 2.5, "×")
    each("CPU per request: Chatrix ÷ (floor + SDK alone)",
         lambda p, c, f: ratio(s.med(c, "cpu_us_per_request"),
                               s.med(f, "cpu_us_per_request") + sdk_alone(data, p)[0][0]),
         "≤ 1.5×", lambda v: v <= 1.5, "×")
    if "litellm" in have:
        for q in ("p50", "p99"):
            each(f"added latency {q}: LiteLLM ÷ Chatrix",
                 lambda p, c, f: ratio(s.med("litellm", f"small_added_{q}"), s.med(c, f"small_added_{q}")),
                 "≥ 50×", lambda v: v >= 50, "×")
        each("throughput: Chatrix ÷ LiteLLM", lambda p, c, f: ratio(s.med(c, "rps"), s.med("litellm", "rps")),
             "≥ 100×", lambda v: v >= 100, "×")
    for p in paths:
        # Below zero, direct's slowest stream was slower than Chatrix's: noise, not a pass; but a
        # median stream already over the limit is a miss whatever the slowest did.
        c = f"chatrix-{p}"
        v, p50 = s.med(c, "ttfb_added_p99"), s.med(c, "ttfb_added_p50")
        add(f"{PATH_TITLE[p]}: streaming: added time to first byte (first event), p99, each "
            "round's first stream apart", v, "≤ 1 ms", False if p50 > 1 else at_most(1)(v), " ms")
    for p in paths:
        # Shown, not judged: the cold first stream ("The first request after idle").
        v = s.med(f"chatrix-{p}", "ttfb_first_added")
        rows.append((f"{PATH_TITLE[p]}: streaming: added time to first byte of each round's first "
                     "stream (median; cold)", "–" if math.isnan(v) else f"{v:.3g} ms", "no target",
                     "–"))
    each("streaming: added delay of each delta, p99",
         lambda p, c, f: s.med(c, "delays_added_p99"), "≤ 1 ms", at_most(1), " ms")
    want = workload.expected_deltas(data["meta"]["settings"]["stream_words"])
    for p in paths:
        f = s.fig[f"chatrix-{p}"]
        ok = f["deltas"] == [want] and f["coalesced"] == 0
        rows.append((f"{PATH_TITLE[p]}: streaming: every delta relayed alone (no coalescing)",
                     f"{f['coalesced']} coalesced reads; deltas/stream {f['deltas']}",
                     f"0; {want}", "✅" if ok else "❌"))
    each("RSS idle", lambda p, c, f: data["rss_idle_bytes"][c] / MB, "≤ 20 MB", lambda v: v <= 20, " MB")
    each(f"RSS under load (c={data['meta']['settings']['connections']}, peak)",
         lambda p, c, f: s.med(c, "rss_peak_mb"), "≤ 64 MB", lambda v: v <= 64, " MB")
    for p in paths:
        h = data["open_streams"][f"chatrix-{p}"]
        v = h["rss_bytes"] / MB
        add(f"{PATH_TITLE[p]}: RSS with {h['requested']} open streams ({h['streaming']} streaming)",
            v, "≤ 150 MB", v <= 150 and h["streaming"] == h["requested"], " MB")
    for p in paths:
        big = (data.get("big_request") or {}).get(p)
        if big:
            v = big["peak_bytes"] / big["body_bytes"]
            add(f"{PATH_TITLE[p]}: peak RSS relaying a {big['body_bytes'] / MB:.0f} MB request ÷ the body "
                f"({big['peak_bytes'] / MB:.1f} MB)", v, "≤ 2.5×",
                v <= 2.5 and big["statuses"] == [200] * big["requests"], "×")
    if "chatrix" in data.get("startup_ms", {}):
        v = statistics.median(data["startup_ms"]["chatrix"])
        add("exec → /health 200 (median)", v, "≤ 50 ms", v <= 50, " ms")
    return rows


def sdk_cost_lines(data: dict, s) -> list[str]:
    """The SDK's own share: bench/sdk_cost.rs calls the emulator with Chatrix's SDK client and with
    a bare hyper client, nothing else in the process, once per path with that path's call."""
    if not data.get("sdk_cost"):
        return []
    out = [
        "What the AWS SDK costs by itself (`bench/sdk_cost.rs`: the body Chatrix sends on each path",
        "(the small request's), 16 calls at a time from a process that does nothing else, once through",
        "Chatrix's `aws-sdk-bedrockruntime` client, once through a bare pooled hyper client), CPU µs",
        "per call; and Chatrix's CPU per request (the throughput runs) against the floor's plus the SDK's:",
        "",
        "| Path (call) | SDK client | bare hyper client | SDK ÷ hyper | floor + SDK alone | Chatrix | "
        "Chatrix ÷ (floor + SDK alone) | Chatrix ÷ (floor + SDK − hyper) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in PATHS:
        if f"chatrix-{p}" not in s.names:
            continue
        sdk, bare = sdk_alone(data, p)
        floor = s.med(f"floor-{p}", "cpu_us_per_request")
        chatrix = s.med(f"chatrix-{p}", "cpu_us_per_request")
        call = "InvokeModel" if p == "native" else "Converse"
        out.append(f"| {PATH_TITLE[p]} ({call}) | {fmt(sdk, 1)} | {fmt(bare, 1)} | "
                   f"{ratio(sdk[0], bare[0]):.1f}× | {floor + sdk[0]:.1f} | {chatrix:.1f} | "
                   f"{ratio(chatrix, floor + sdk[0]):.2f}× | "
                   f"{ratio(chatrix, floor + sdk[0] - bare[0]):.2f}× |")
    out += [
        "",
        "The SDK's per-call machinery (orchestrator, interceptors, endpoint rules, SigV4, response",
        "parsing) is a fixed cost of the client the gateway is built on (issue 14 keeps it), so the CPU",
        "target is read against floor + SDK alone. The last column is the stricter reading: the SDK's",
        "cost over a bare client, since the floor already pays for one HTTP client call.",
        "",
    ]
    return out
