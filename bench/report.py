"""Turns one run's raw data into docs/performance.md (tables, targets), a PNG plot beside it and
the raw JSON, and lists anything that means the harness itself did not work."""

import json
import math
import os
import statistics

import workload

MB = 1024 * 1024
GATEWAYS = ("floor", "chatrix", "litellm")


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


class Summary:
    """Per-contender figures: each a (median, min, max) over rounds."""

    def __init__(self, data: dict):
        self.data = data
        self.names = data["contenders"]
        self.rounds = data["rounds"]
        self.fig: dict = {n: {} for n in self.names}
        for n in self.names:
            self._latency(n, "latency_small", "small")
            self._latency(n, "latency_large", "large")
            self._load(n)
            self._stream(n)

    def per_round(self, kind: str, name: str, f) -> list:
        return [f(r[kind][name], r[kind]) for r in self.rounds]

    def _latency(self, n: str, kind: str, label: str) -> None:
        for q in ("p50", "p99"):
            key = f"{q}_us"
            self.fig[n][f"{label}_{q}"] = spread(self.per_round(kind, n, lambda x, _: x[key] / 1000))
            self.fig[n][f"{label}_added_{q}"] = spread(
                self.per_round(kind, n, lambda x, all_: (x[key] - all_["direct"][key]) / 1000))

    def _load(self, n: str) -> None:
        for key in ("rps", "cpu_us_per_request", "upstream_cpu_us_per_request"):
            self.fig[n][key] = spread(self.per_round("load", n, lambda x, _: x[key]))
        self.fig[n]["load_p99"] = spread(self.per_round("load", n, lambda x, _: x["p99_us"] / 1000))
        self.fig[n]["rss_peak_mb"] = spread(
            self.per_round("load", n, lambda x, _: x["rss_peak_bytes"] / MB))

    def _stream(self, n: str) -> None:
        for q in (50, 99):
            for key in ("ttfb", "delays", "gaps"):
                self.fig[n][f"{key}_p{q}"] = spread(
                    self.per_round("stream", n, lambda x, _: pct(x[f"{key}_ms"], q)))
                self.fig[n][f"{key}_added_p{q}"] = spread(self.per_round(
                    "stream", n,
                    lambda x, all_: pct(x[f"{key}_ms"], q) - pct(all_["direct"][f"{key}_ms"], q)))
        self.fig[n]["coalesced"] = sum(r["stream"][n]["coalesced_reads"] for r in self.rounds)
        self.fig[n]["deltas"] = sorted({d for r in self.rounds for d in r["stream"][n]["deltas"]})

    def med(self, n: str, key: str) -> float:
        return self.fig[n][key][0] if n in self.fig else math.nan


def problems(data: dict, s: Summary) -> list[str]:
    """What shows the harness (not the contenders' speed) did not work."""
    out = []
    want = workload.expected_deltas(data["meta"]["settings"]["stream_words"])
    for r_i, r in enumerate(data["rounds"], 1):
        for kind in ("latency_small", "latency_large", "load"):
            for n, x in r[kind].items():
                if x["requests"] == 0 or x["error_count"]:
                    out.append(f"round {r_i} {kind} {n}: {x['requests']} requests, errors {x['errors']}")
        for n, x in r["stream"].items():
            if x["statuses"] != [200]:
                out.append(f"round {r_i} stream {n}: statuses {x['statuses']}")
            if n != "litellm" and set(x["deltas"]) != {want}:
                out.append(f"round {r_i} stream {n}: deltas per stream {sorted(set(x['deltas']))}, want {want}")
            if n != "litellm" and len(x["delays_ms"]) != sum(x["deltas"]):
                out.append(f"round {r_i} stream {n}: {len(x['delays_ms'])} stamps for {sum(x['deltas'])} deltas")
    for n, h in data["open_streams"].items():
        if n != "litellm" and h["streaming"] != h["requested"]:
            out.append(f"open streams {n}: {h['streaming']} of {h['requested']} streaming")
    for i, r in enumerate(data.get("sdk_cost", []), 1):
        if not {"sdk", "hyper"} <= r.keys():
            out.append(f"SDK cost round {i}: got {r}")
    return out


def fmt(t: tuple, digits: int = 3) -> str:
    m, lo, hi = t
    if math.isnan(m):
        return "–"
    if lo == hi:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} <sub>({lo:.{digits}f}–{hi:.{digits}f})</sub>"


def ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def targets(data: dict, s: Summary) -> list[tuple]:
    """(target, figure, limit, verdict) rows; a target whose contenders are missing is skipped."""
    rows = []
    have = set(s.names)

    def add(name: str, value: float, limit: str, ok: bool, unit: str = "") -> None:
        shown = "–" if math.isnan(value) else (f"{value:.3g}{unit}")
        rows.append((name, shown, limit, "✅" if ok else "❌"))

    if {"floor", "chatrix"} <= have:
        for q, k in (("p50", 3), ("p99", 5)):
            r = ratio(s.med("chatrix", f"small_added_{q}"), s.med("floor", f"small_added_{q}"))
            add(f"added latency {q}, c=1: Chatrix ÷ floor", r, f"≤ {k}×", r <= k, "×")
        r = ratio(s.med("chatrix", "rps"), s.med("floor", "rps"))
        add("throughput: Chatrix ÷ floor", r, "≥ 0.5×", r >= 0.5, "×")
        r = ratio(s.med("chatrix", "cpu_us_per_request"), s.med("floor", "cpu_us_per_request"))
        add("CPU per request: Chatrix ÷ floor", r, "≤ 2.5×", r <= 2.5, "×")
    if {"litellm", "chatrix"} <= have:
        for q in ("p50", "p99"):
            r = ratio(s.med("litellm", f"small_added_{q}"), s.med("chatrix", f"small_added_{q}"))
            add(f"added latency {q}: LiteLLM ÷ Chatrix", r, "≥ 50×", r >= 50, "×")
        r = ratio(s.med("chatrix", "rps"), s.med("litellm", "rps"))
        add("throughput: Chatrix ÷ LiteLLM", r, "≥ 100×", r >= 100, "×")
    if "chatrix" in have:
        v = s.med("chatrix", "ttfb_added_p99")
        add("streaming: added time to first byte (first event), p99", v, "≤ 1 ms", v <= 1, " ms")
        v = s.med("chatrix", "delays_added_p99")
        add("streaming: added delay of each delta, p99", v, "≤ 1 ms", v <= 1, " ms")
        want = workload.expected_deltas(data["meta"]["settings"]["stream_words"])
        ok = s.fig["chatrix"]["deltas"] == [want] and s.fig["chatrix"]["coalesced"] == 0
        rows.append(("streaming: every delta relayed alone (no coalescing)",
                     f"{s.fig['chatrix']['coalesced']} coalesced reads; deltas/stream {s.fig['chatrix']['deltas']}",
                     f"0; {want}", "✅" if ok else "❌"))
        v = data["rss_idle_bytes"]["chatrix"] / MB
        add("RSS idle", v, "≤ 20 MB", v <= 20, " MB")
        v = s.med("chatrix", "rss_peak_mb")
        add(f"RSS under load (c={data['meta']['settings']['connections']}, peak)", v, "≤ 64 MB", v <= 64, " MB")
        h = data["open_streams"]["chatrix"]
        v = h["rss_bytes"] / MB
        add(f"RSS with {h['requested']} open streams ({h['streaming']} streaming)", v, "≤ 150 MB",
            v <= 150 and h["streaming"] == h["requested"], " MB")
        v = statistics.median(data["startup_ms"]["chatrix"])
        add("exec → /health 200 (median)", v, "≤ 50 ms", v <= 50, " ms")
    return rows


def plot(s: Summary, data: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gw = [n for n in GATEWAYS if n in s.names]
    colors = {"direct": "#999999", "floor": "#4c72b0", "chatrix": "#dd8452", "litellm": "#55a868"}
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    fig.suptitle(f"Chatrix side by side — {data['meta']['date']}, {data['meta']['nproc']} CPUs, "
                 f"median of {len(s.rounds)} rounds (bars: min–max)", fontsize=12)

    def bars(ax, names, keys, title, unit, log=True):
        width = 0.8 / len(keys)
        for i, key in enumerate(keys):
            real = [s.fig[n][key][0] for n in names]
            # Log scale: a zero or negative figure (noise around nothing) is drawn at the bottom.
            meds = [max(m, 1e-3) for m in real]
            lo = [max(m - max(s.fig[n][key][1], 1e-3), 0) for m, n in zip(meds, names)]
            hi = [max(s.fig[n][key][2] - m, 0) for m, n in zip(meds, names)]
            xs = [j + i * width for j in range(len(names))]
            label = key.replace("small_", "").replace("_added", "").replace("delays", "delta delay")
            ax.bar(xs, meds, width, yerr=[lo, hi], capsize=3, label=label.replace("_", " "),
                   color=[colors[n] for n in names], alpha=1 - 0.35 * i, edgecolor="black")
            for x, m in zip(xs, real):
                ax.annotate(f"{m:.3g}", (x, max(m, 1e-3)), ha="center", va="bottom", fontsize=8)
        ax.set_xticks([j + width * (len(keys) - 1) / 2 for j in range(len(names))], names)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit)
        if log:
            ax.set_yscale("log")
        if len(keys) > 1:
            ax.legend(fontsize=8)

    bars(axes[0][0], gw, ["small_added_p50", "small_added_p99"], "added latency, c=1 (over direct)", "ms")
    bars(axes[0][1], s.names, ["rps"], f"requests/s, c={data['meta']['settings']['connections']}", "req/s")
    bars(axes[0][2], s.names, ["cpu_us_per_request"], "CPU per request (process tree)", "µs")
    bars(axes[1][0], gw, ["ttfb_added_p50", "ttfb_added_p99", "delays_added_p99"],
         "streaming: added TTFB (p50, p99) and per-delta delay (p99)", "ms")
    mem = {n: {"idle": (data["rss_idle_bytes"][n] / MB,) * 3, "load peak": s.fig[n]["rss_peak_mb"],
               "open streams": (data["open_streams"][n]["rss_bytes"] / MB,) * 3} for n in s.names}
    ax = axes[1][1]
    for i, key in enumerate(("idle", "load peak", "open streams")):
        xs = [j + i * 0.27 for j in range(len(s.names))]
        vals = [mem[n][key][0] for n in s.names]
        ax.bar(xs, vals, 0.27, label=key, color=[colors[n] for n in s.names], alpha=1 - 0.3 * i,
               edgecolor="black")
        for x, v in zip(xs, vals):
            ax.annotate(f"{v:.3g}", (x, v), ha="center", va="bottom", fontsize=7)
    ax.set_xticks([j + 0.27 for j in range(len(s.names))], s.names)
    ax.set_yscale("log")
    ax.set_title("RSS: idle / load peak / open streams", fontsize=10)
    ax.set_ylabel("MB")
    ax.legend(fontsize=8)
    ax = axes[1][2]
    start = {n: statistics.median(v) for n, v in data["startup_ms"].items()}
    if "litellm_ready_s" in data["meta"]:
        start["litellm"] = data["meta"]["litellm_ready_s"] * 1000
    ax.bar(list(start), list(start.values()), color=[colors[n] for n in start], edgecolor="black")
    for x, v in enumerate(start.values()):
        ax.annotate(f"{v:.3g}", (x, v), ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.set_title("exec → ready", fontsize=10)
    ax.set_ylabel("ms")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def table(s: Summary, columns: list) -> list[str]:
    """A markdown table, one row per contender. A column is (title, figure key[, digits]), or
    (title, function of the contender's figures)."""
    def cell(f: dict, column: tuple) -> str:
        _, key, *digits = column
        return key(f) if callable(key) else fmt(f[key], *digits)

    lines = ["| Contender | " + " | ".join(c[0] for c in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    lines += [f"| {n} | " + " | ".join(cell(s.fig[n], c) for c in columns) + " |" for n in s.names]
    return lines


def sdk_cost_lines(data: dict, s: Summary) -> list[str]:
    """The SDK's own share: bench/sdk_cost.rs calls the emulator with Chatrix's SDK client and with
    a bare hyper client, nothing else in the process."""
    runs = data.get("sdk_cost") or []
    if not runs:
        return []
    sdk, bare = spread([r["sdk"] for r in runs]), spread([r["hyper"] for r in runs])
    floor = s.med("floor", "cpu_us_per_request") if "floor" in s.names else math.nan
    return [
        "What the AWS SDK costs by itself (`bench/sdk_cost.rs`: the same Converse body sent 16 at a",
        "time from a process that does nothing else, once through Chatrix's `aws-sdk-bedrockruntime`",
        "client, once through a bare pooled hyper client), CPU µs per call:",
        "",
        "| SDK client | bare hyper client | SDK ÷ hyper | SDK alone ÷ floor's whole request |",
        "|---|---|---|---|",
        f"| {fmt(sdk, 1)} | {fmt(bare, 1)} | {ratio(sdk[0], bare[0]):.1f}× | {ratio(sdk[0], floor):.1f}× |",
        "",
        "The SDK's per-call machinery (orchestrator, interceptors, endpoint rules, SigV4, response",
        "parsing) is a fixed cost of the client the gateway is built on: Chatrix's CPU ratio to the",
        "floor cannot fall below the last column.",
        "",
    ]


def markdown(data: dict, s: Summary, rows: list, png_name: str) -> str:
    m = data["meta"]
    st = m["settings"]
    names = s.names
    out = [
        "# Performance",
        "",
        "<!-- Written by bench/run; do not edit by hand. -->",
        "",
        f"Measured {m['date']} on {m['nproc']} × {m['cpu']} (Linux {m['kernel']}), git {m['git']}, "
        f"{m['rustc']}, {m['wrk']}, Python {m['python']}"
        + (f", LiteLLM {m['litellm']}" if m.get("litellm") else "") + ".",
        "",
        "Everything runs on this one machine at once (load generator, contender, emulator), so absolute",
        "figures drift with the machine; the ratios between contenders from the same run are what counts.",
        f"Each figure is the median of {len(s.rounds)} interleaved rounds (min–max in small print).",
        "",
        "Contenders, all against the same Bedrock emulator (`bedrock-emulator`, TCP_NODELAY):",
        "- **direct**: the client calls the emulator's Converse API itself (the baseline);",
        "- **floor**: `bench/floor_relay.rs`, a bare hyper relay with a pooled client: no parsing, signing",
        "  or translation — the least any proxy can cost;",
        f"- **chatrix**: the {m['build']} build, `/v1/messages` → SigV4 → Converse / ConverseStream → back;",
        "- **litellm**: LiteLLM's proxy, `/v1/messages` with model `bedrock/converse/…`, 2 workers,",
        "  no database, no callbacks, no retries (its most favourable set-up).",
        "",
        f"Requests: a short question answered in {st['words']} words "
        f"({m['body_bytes']['body']} B request), and an agent-sized one "
        f"({m['body_bytes']['large_body'] // 1024} KB: system prompt, 3 tools, 16-turn history); "
        f"direct and floor send the Converse bodies Chatrix produced for them "
        f"({m['converse_bytes']['body']} B and {m['converse_bytes']['large_body'] // 1024} KB). "
        f"Streams: {st['stream_words']} words in {workload.expected_deltas(st['stream_words'])} deltas, "
        f"the first event after {st['silence_ms']} ms, then one every {st['drip_ms']} ms.",
        "",
        "## Targets",
        "",
        "| Target | Measured | Limit | |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        f"![side-by-side figures]({png_name})",
        "",
        f"## Latency at concurrency 1 (wrk, {st['latency_seconds']:g} s per contender per round)",
        "",
        "Added = the contender's percentile minus direct's, in the same round. Milliseconds. During these",
        "one-at-a-time runs (and the streaming probe) the contender is pinned to CPU 1 and the emulator,",
        "wrk and the probe to CPU 0; the throughput runs are not pinned.",
        "",
        *table(s, [("p50", "small_p50"), ("p99", "small_p99"), ("added p50", "small_added_p50"),
                   ("added p99", "small_added_p99"), ("large: p50", "large_p50"),
                   ("large: added p50", "large_added_p50"), ("large: added p99", "large_added_p99")]),
        "",
        f"## Throughput and CPU (wrk, {st['connections']} connections, {st['load_seconds']:g} s)",
        "",
        "CPU per request is the contender's process tree's user+system time (from /proc) divided by the",
        "requests served; for direct it is the emulator's own. The emulator's share in each run is beside it.",
        "",
        *table(s, [("requests/s", "rps", 0), ("p99 ms", "load_p99", 2),
                   ("CPU µs/request", "cpu_us_per_request", 1),
                   ("emulator CPU µs/request", "upstream_cpu_us_per_request", 1),
                   ("peak RSS MB", "rss_peak_mb", 1)]),
        "",
        *sdk_cost_lines(data, s),
        f"## Streaming ({st['stream_samples']} streams at a time, one after another, per contender per round)",
        "",
        "TTFB runs from sending the request to reading the stream's first event (`messageStart` frame",
        "for direct and floor, `message_start` for the gateways); the emulator sends it at once, so no",
        "timer is involved. Each delta's delay runs from the emulator writing it (its text is the send",
        "time, `[[emu:stamp]]`) to the probe reading it, on the same clock. The gap is between two",
        "deltas' arrivals (the emulator paces them with a 1 ms-resolution timer). A coalesced read is",
        "one that carried more than one delta: a relay that buffers shows it at once. Milliseconds.",
        "",
        *table(s, [("TTFB p50", "ttfb_p50"), ("TTFB p99", "ttfb_p99"), ("added p50", "ttfb_added_p50"),
                   ("added p99", "ttfb_added_p99"), ("delta delay p50", "delays_p50"),
                   ("p99", "delays_p99"), ("added p99", "delays_added_p99"),
                   ("gap p50", "gaps_p50", 2), ("gap p99", "gaps_p99", 2),
                   ("deltas/stream", lambda f: ", ".join(map(str, f["deltas"]))),
                   ("coalesced reads", lambda f: str(f["coalesced"]))]),
        "",
        "## Memory, start-up and size",
        "",
        "| Contender | RSS idle MB | RSS after load MB | open streams | RSS with them open MB |",
        "|---|---|---|---|---|",
    ]
    for n in names:
        h = data["open_streams"][n]
        out.append(f"| {n} | {data['rss_idle_bytes'][n] / MB:.1f} | {data['rss_after_load_bytes'][n] / MB:.1f} | "
                   f"{h['streaming']} of {h['requested']} | {h['rss_bytes'] / MB:.1f} |")
    out += ["", "| | exec → ready ms (median, min–max) | binary MB |", "|---|---|---|"]
    for n, times in data["startup_ms"].items():
        size = data["sizes"].get(n)
        out.append(f"| {n} | {fmt(spread(times), 1)} | {f'{size / MB:.1f}' if size else ''} |")
    if "litellm_ready_s" in m:
        out.append(f"| litellm | {m['litellm_ready_s'] * 1000:.0f} (one start, to `/health/liveliness`) | |")
    out += [
        "",
        "Chatrix's exec → ready is the time from starting the process to the first `200` from `/health`",
        "(polled every 0.5 ms over raw TCP); the floor's, to its first HTTP answer.",
        "",
        "The container image cannot be built here (no Docker engine); see docs/container.md for the",
        "image's parts. Raw data: `performance.json` beside this file. Re-run: `bench/run`.",
        "",
        "## Profiling",
        "",
        "`cargo build --profile profiling` builds the same code with symbols (thin LTO, so it links in",
        "a minute). Run it against `bedrock-emulator` under wrk with bench/wrk_report.lua, and record",
        "with `perf record -e cpu-clock -g --call-graph dwarf -p <pid>` (no hardware counters needed).",
        "",
    ]
    return "\n".join(out)


def _rounded(x):
    """Floats to 3 decimals (µs for milliseconds): the raw samples stay, at a fraction of the size."""
    if isinstance(x, float):
        return round(x, 3)
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_rounded(v) for v in x]
    return x


def write(data: dict, out_md: str, smoke: bool) -> list[str]:
    s = Summary(data)
    found = problems(data, s)
    rows = targets(data, s)
    base = os.path.splitext(out_md)[0]
    os.makedirs(os.path.dirname(os.path.abspath(out_md)), exist_ok=True)
    png = base + ".png"
    plot(s, data, png)
    with open(base + ".json", "w") as f:
        json.dump(_rounded(data), f, separators=(",", ":"))
        f.write("\n")
    with open(out_md, "w") as f:
        f.write(markdown(data, s, rows, os.path.basename(png)))
    print(f"wrote {out_md}, {png}, {base}.json")
    if smoke:
        print("smoke run: the harness works (no errors, every stream whole); its figures, from a",
              "debug build under a tiny load, say nothing about performance")
    else:
        for row in rows:
            print(" | ".join(row))
    return found


if __name__ == "__main__":
    # Re-renders the report from a run's raw data: `python bench/report.py docs/performance.json`.
    import sys

    with open(sys.argv[1]) as f:
        raw = json.load(f)
    sys.exit(1 if write(raw, os.path.splitext(sys.argv[1])[0] + ".md", smoke=False) else 0)
