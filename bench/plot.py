"""The PNG beside docs/performance.md: six panels of the run's headline figures."""

import statistics

MB = 1024 * 1024
COLORS = {
    "direct-native": "#aaaaaa", "direct-converse": "#777777",
    "floor-native": "#7fa3d6", "floor-converse": "#4c72b0", "floor": "#4c72b0",
    "chatrix-native": "#dd8452", "chatrix-converse": "#a0522d", "chatrix": "#dd8452",
    "litellm": "#55a868",
}


def plot(s, data: dict, path: str) -> None:
    """`s`: the report's Summary of the run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gw = [n for n in s.names if not n.startswith("direct")]
    colors = {n: COLORS.get(n, "#cccccc") for n in s.names}
    fig, axes = plt.subplots(2, 3, figsize=(17, 9))
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
        ax.set_xticks([j + width * (len(keys) - 1) / 2 for j in range(len(names))], names,
                      rotation=20, fontsize=8)
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
    ax.set_xticks([j + 0.27 for j in range(len(s.names))], s.names, rotation=20, fontsize=8)
    ax.set_yscale("log")
    ax.set_title("RSS: idle / load peak / open streams", fontsize=10)
    ax.set_ylabel("MB")
    ax.legend(fontsize=8)
    ax = axes[1][2]
    start = {n: statistics.median(v) for n, v in data["startup_ms"].items()}
    if "litellm_ready_s" in data["meta"]:
        start["litellm"] = data["meta"]["litellm_ready_s"] * 1000
    ax.bar(list(start), list(start.values()), color=[COLORS.get(n, COLORS["chatrix-native"]) for n in start],
           edgecolor="black")
    for x, v in enumerate(start.values()):
        ax.annotate(f"{v:.3g}", (x, v), ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.set_title("exec → ready", fontsize=10)
    ax.set_ylabel("ms")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
