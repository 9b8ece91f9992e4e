"""Turns one run's raw data into docs/performance.md (tables, targets), a PNG plot beside it and
the raw JSON, and lists anything that means the harness itself did not work."""

import json
import math
import os
import statistics

import plot as plotting
import workload
from figures import MB, base, fmt, pct, spread
from targets import sdk_cost_lines, targets


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
            self._latency(n, "latency_huge", "huge")
            self._load(n)
            self._stream(n)

    def per_round(self, kind: str, name: str, f) -> list:
        """`f(this contender's result, its path's direct result)` for each round that ran it."""
        return [f(r[kind][name], r[kind][base(name)]) for r in self.rounds
                if name in r.get(kind, {})]

    def _latency(self, n: str, kind: str, label: str) -> None:
        for q in ("p50", "p99"):
            key = f"{q}_us"
            self.fig[n][f"{label}_{q}"] = spread(self.per_round(kind, n, lambda x, _: x[key] / 1000))
            self.fig[n][f"{label}_added_{q}"] = spread(
                self.per_round(kind, n, lambda x, d: (x[key] - d[key]) / 1000))

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
                    "stream", n, lambda x, d: pct(x[f"{key}_ms"], q) - pct(d[f"{key}_ms"], q)))
        self.fig[n]["ttfb_first"] = spread(self.per_round("stream", n, lambda x, _: first_ttfb(x)))
        self.fig[n]["ttfb_first_added"] = spread(
            self.per_round("stream", n, lambda x, d: first_ttfb(x) - first_ttfb(d)))
        self.fig[n]["coalesced"] = sum(r["stream"][n]["coalesced_reads"] for r in self.rounds)
        self.fig[n]["deltas"] = sorted({d for r in self.rounds for d in r["stream"][n]["deltas"]})

    def med(self, n: str, key: str) -> float:
        return self.fig[n][key][0] if n in self.fig else math.nan


def first_ttfb(stream: dict) -> float:
    """A round's first stream's TTFB, timed apart from the samples (absent from older runs)."""
    return stream.get("ttfb_first_ms", math.nan)


def problems(data: dict, s: Summary) -> list[str]:
    """What shows the harness (not the contenders' speed) did not work."""
    out = []
    want = workload.expected_deltas(data["meta"]["settings"]["stream_words"])
    for r_i, r in enumerate(data["rounds"], 1):
        for kind in ("latency_small", "latency_large", "latency_huge", "load"):
            for n, x in r.get(kind, {}).items():
                if x["requests"] == 0 or x["error_count"]:
                    out.append(f"round {r_i} {kind} {n}: {x['requests']} requests, errors {x['errors']}")
        for n, x in r["stream"].items():
            if x["statuses"] != [200]:
                out.append(f"round {r_i} stream {n}: statuses {x['statuses']}")
            if n != "litellm" and x.get("first_deltas", want) != want:
                out.append(f"round {r_i} stream {n}: the first stream had {x['first_deltas']} deltas, want {want}")
            if math.isnan(first_ttfb(x)) and "first_deltas" in x:
                out.append(f"round {r_i} stream {n}: the first stream had no first event")
            if n != "litellm" and set(x["deltas"]) != {want}:
                out.append(f"round {r_i} stream {n}: deltas per stream {sorted(set(x['deltas']))}, want {want}")
            if n != "litellm" and len(x["delays_ms"]) != sum(x["deltas"]):
                out.append(f"round {r_i} stream {n}: {len(x['delays_ms'])} stamps for {sum(x['deltas'])} deltas")
    for n, h in data["open_streams"].items():
        if n != "litellm" and h["streaming"] != h["requested"]:
            out.append(f"open streams {n}: {h['streaming']} of {h['requested']} streaming")
    for i, r in enumerate(data.get("sdk_cost", []), 1):
        for path, x in r.items():
            if not {"sdk", "hyper"} <= x.keys():
                out.append(f"SDK cost round {i} {path}: got {x}")
    for path, big in (data.get("big_request") or {}).items():
        if big["statuses"] != [200] * big["requests"]:
            out.append(f"{path}: the large request was answered {big['statuses']}")
    return out


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


def intro_lines(data: dict) -> list[str]:
    m, st = data["meta"], data["meta"]["settings"]
    up = m["upstream_bytes"]
    return [
        "Chatrix runs twice, once per Claude path, and each path has its own baseline and floor, sending",
        "exactly what Chatrix sends on that path (read back from the emulator's request log: the raw",
        "bytes for InvokeModel, the JSON for Converse). All against the same Bedrock emulator",
        "(`bedrock-emulator`, TCP_NODELAY):",
        "- **direct-native** / **direct-converse**: the client calls the emulator's InvokeModel",
        "  (`/invoke`, `/invoke-with-response-stream`) or Converse API itself (the baselines);",
        "- **floor-native** / **floor-converse**: `bench/floor_relay.rs`, a bare hyper relay with a",
        "  pooled client: no parsing, signing or translation — the least any proxy can cost;",
        f"- **chatrix-native**: the {m['build']} build as deployed (`CHATRIX_CLAUDE_API=invoke`, the",
        "  default): `/v1/messages` → the client's body with the native rules → SigV4 → InvokeModel /",
        "  InvokeModelWithResponseStream → relayed back;",
        "- **chatrix-converse**: the same binary with `CHATRIX_CLAUDE_API=converse`: translated to",
        "  Converse / ConverseStream and back;",
        *([f"- both Chatrix contenders also ran with {', '.join(f'`{k}={v}`' for k, v in sorted(m['chatrix_env'].items()))};"]
          if m.get("chatrix_env") else []),
        "- **litellm**: LiteLLM's proxy, `/v1/messages` with model `bedrock/converse/…`, 2 workers,",
        "  no database, no callbacks, no retries (its most favourable set-up); its added figures are",
        "  over direct-converse.",
        "",
        f"Requests: a short question answered in {st['words']} words "
        f"({m['body_bytes']['body']} B request); an agent-sized one "
        f"({m['body_bytes']['large_body'] // 1024} KB: system prompt, 3 tools, 16-turn history); and a "
        f"Claude Code-shaped one of {m['body_bytes']['huge_body'] / MB:.2f} MB (a long system prompt, "
        "20 tool schemas, and a long history of text, tool_use and tool_result blocks holding "
        "source-like text: our own synthetic text, sent with the `context-1m` beta). Upstream, the native path sends "
        f"{up['native']['body']} B / {up['native']['large_body'] // 1024} KB / "
        f"{up['native']['huge_body'] / MB:.2f} MB and Converse {up['converse']['body']} B / "
        f"{up['converse']['large_body'] // 1024} KB / {up['converse']['huge_body'] / MB:.2f} MB. "
        f"Streams: {st['stream_words']} words in {workload.expected_deltas(st['stream_words'])} deltas, "
        f"the first event after {st['silence_ms']} ms, then one every {st['drip_ms']} ms.",
        "",
    ]


def big_request_lines(data: dict) -> list[str]:
    big = data.get("big_request") or {}
    if not big:
        return []
    out = [
        "## Memory while relaying one very large request",
        "",
        "A fresh gateway per path (`CHATRIX_MAX_BODY_BYTES` raised for it), then the same request "
        f"{next(iter(big.values()))['requests']} times one after another, non-streaming: a Claude "
        "Code-shaped conversation whose bulk is screenshots (base64 images of up to 3.75 MB). Peak is "
        "the kernel's high-water mark (`VmHWM`) of the gateway process after the requests, so no "
        "sampling interval can miss it; the sampled peak (every 5 ms) is beside it.",
        "",
        "| Path | body MB | images | idle RSS MB | peak RSS MB | sampled peak MB | peak ÷ body | "
        "(peak − idle) ÷ body |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for path, b in big.items():
        body = b["body_bytes"]
        out.append(f"| {path} | {body / MB:.1f} | {b['images']} | {b['idle_bytes'] / MB:.1f} | "
                   f"{b['peak_bytes'] / MB:.1f} | {b['sampled_peak_bytes'] / MB:.1f} | "
                   f"{b['peak_bytes'] / body:.2f}× | {(b['peak_bytes'] - b['idle_bytes']) / body:.2f}× |")
    return out + [""]


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
        "Load average (1 min) before each round: "
        + ", ".join(f"{r['loadavg_before']:.2f}" for r in s.rounds) + ".",
        "",
        *[line for n in m.get("notes") or [] for line in (f"**Note:** {n}", "")],
        *intro_lines(data),
        "## Targets",
        "",
        "| Target | Measured | Limit | |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        *(["❔: not judged. An added figure below zero (or a ratio of two with one below zero) means",
           "the baseline's sample was slower than the contender's: the machine's noise outweighed",
           "what is measured.", ""] if any(r[3] == "❔" for r in rows) else []),
        f"![side-by-side figures]({png_name})",
        "",
        f"## Latency at concurrency 1 (wrk, {st['latency_seconds']:g} s per contender per round)",
        "",
        "Added = the contender's percentile minus its path's direct, in the same round. Milliseconds. The",
        "1 MB columns are the Claude Code-shaped request (LiteLLM is not sent it: its Converse route does",
        "not pass the `context-1m` beta on, so the emulator would refuse it as too long). During these",
        "one-at-a-time runs (and the streaming probe) the contender is pinned to CPU 1 and the emulator,",
        "wrk and the probe to CPU 0; the throughput runs are not pinned.",
        "",
        *table(s, [("p50", "small_p50"), ("p99", "small_p99"), ("added p50", "small_added_p50"),
                   ("added p99", "small_added_p99"), ("large: p50", "large_p50"),
                   ("large: added p50", "large_added_p50"), ("large: added p99", "large_added_p99"),
                   ("1 MB: p50", "huge_p50"), ("1 MB: added p50", "huge_added_p50"),
                   ("1 MB: added p99", "huge_added_p99")]),
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
        f"## Streaming ({st['stream_samples']} streams one after another, after a first one timed apart, per contender per round)",
        "",
        "TTFB runs from sending the request to reading the stream's first event (`messageStart` frame",
        "for direct-converse and its floor, the decoded `message_start` chunk for direct-native and its",
        "floor, `message_start` for the gateways); the emulator sends it at once, so no",
        "timer is involved. Each delta's delay runs from the emulator writing it (its text is the send",
        "time, `[[emu:stamp]]`) to the probe reading it, on the same clock. The gap is between two",
        "deltas' arrivals (the emulator paces them with a 1 ms-resolution timer). A coalesced read is",
        "one that carried more than one delta: a relay that buffers shows it at once. Milliseconds.",
        "A round's first stream through a contender comes after it sat idle while the others were",
        "measured, and it runs on cold caches: it is timed apart (the last two columns) and is not",
        "among the samples (\"The first request after idle\", below).",
        "",
        *table(s, [("TTFB p50", "ttfb_p50"), ("TTFB p99", "ttfb_p99"), ("added p50", "ttfb_added_p50"),
                   ("added p99", "ttfb_added_p99"), ("delta delay p50", "delays_p50"),
                   ("p99", "delays_p99"), ("added p99", "delays_added_p99"),
                   ("gap p50", "gaps_p50", 2), ("gap p99", "gaps_p99", 2),
                   ("deltas/stream", lambda f: ", ".join(map(str, f["deltas"]))),
                   ("coalesced reads", lambda f: str(f["coalesced"])),
                   ("first stream: TTFB", "ttfb_first"), ("added", "ttfb_first_added")]),
        "",
        *big_request_lines(data),
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
    ]
    out += kept_sections()
    out += [
        "## Profiling",
        "",
        "`cargo build --profile profiling` builds the same code with symbols (thin LTO, so it links in",
        "a minute). Run it against `bedrock-emulator` under wrk with bench/wrk_report.lua, and record",
        "with `perf record -e cpu-clock -g --call-graph dwarf -p <pid>` (no hardware counters needed).",
        "For counts that do not move with the machine, `bench/instructions.py --chatrix",
        "<target>/profiling/chatrix --keep DIR` leaves callgrind's profile of the load in DIR:",
        "`callgrind_annotate --inclusive=yes DIR/chatrix-0.out.1` names each function's share.",
        "For memory, `cargo build --example heap-server` is the gateway on the system allocator (mimalloc",
        "hides allocations from heaptrack): run it under `heaptrack`, send the request, then",
        "`heaptrack_print --print-peaks` names the allocations alive at the peak.",
        "",
    ]
    return "\n".join(out)


# Figures measured apart from bench/run (each by its own script, which says how), kept as Markdown
# under bench/sections/ so that a bench/run does not drop them; copied in this order.
KEPT_SECTIONS = ("native.md", "cpu.md", "idle.md", "ledger.md", "failover.md")


def kept_sections() -> list[str]:
    """The sections measured apart: the native path's 1 MB / 30 MB figures (bench/focus.py,
    bench/native_cost.rs), the small request's CPU (bench/instructions.py, focus.py --cpu), the
    first request after idle (focus.py --idle), the spend ledger (bench/ledger.py, release
    build, moto's DynamoDB) and failover under throttling (bench/failover_load.py)."""
    out: list[str] = []
    here = os.path.dirname(os.path.abspath(__file__))
    for name in KEPT_SECTIONS:
        with open(os.path.join(here, "sections", name)) as f:
            out += f.read().rstrip("\n").split("\n") + [""]
    return out


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
    plotting.plot(s, data, png)
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
