#!/usr/bin/python3
"""Draws the chart of docs/BENCHMARKS.md from the raw results of one bench/run.

  bench/chart.py bench/results/<run>.jsonl -o docs/bench.png

Four panels, each from the run's "summary" records: throughput ratios against nginx (S1, S2;
higher is better), wall-time ratios (S3 against nginx, S4 against direct; lower is better),
peak memory growth (S7) and the cost ratios of the largest store against the smallest (S8).
Bars are medians over the repeats, whiskers min and max; dashed lines are the targets.
"""

import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    meta = next((r for r in rows if r["type"] == "meta"), {})
    return meta, [r for r in rows if r["type"] == "summary"]


def bars(ax, rows, title, target=None, ylabel="ratio", better=""):
    if not rows:
        ax.set_visible(False)
        return
    def label(r):
        m = r["metric"]
        if r["scenario"] == "S8":
            return f"S8 {m.replace(' ratio', '')}, {r['case']}"
        what = " (p99)" if "p99" in m else " (capacity)" if "capacity" in m else ""
        return f"{r['scenario']} {r['case']}{what}"

    labels = [label(r) for r in rows]
    med = [r["median"] for r in rows]
    lo = [r["median"] - r["min"] for r in rows]
    hi = [r["max"] - r["median"] for r in rows]
    colors = ["#4c72b0" if r["met"] is not False else "#c44e52" for r in rows]
    y = range(len(rows))
    ax.barh(y, med, xerr=[lo, hi], color=colors, capsize=2, height=0.7)
    ax.set_yticks(list(y), labels, fontsize=7)
    ax.invert_yaxis()
    if target is not None:
        for t in target if isinstance(target, (list, tuple)) else [target]:
            ax.axvline(t, color="k", ls="--", lw=0.8)
    ax.set_title(title + (f"\n({better})" if better else ""), fontsize=8)
    ax.set_xlabel(ylabel, fontsize=8)
    ax.tick_params(axis="x", labelsize=7)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    meta, rows = load(args.results)
    if not rows:
        sys.exit(f"chart.py: no summary records in {args.results}")

    def pick(scen, word):
        return [r for r in rows if r["scenario"] in scen and word in r["metric"]]

    tput = (pick(("S1",), "req/s") + pick(("S1",), "capacity") + pick(("S1",), "p99") +
            pick(("S2",), "bytes/s"))
    wall = pick(("S3", "S4"), "wall time")
    mem = pick(("S7",), "VmHWM")
    store = pick(("S8",), "ratio")

    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5),
                             gridspec_kw={"height_ratios": [max(len(tput), 4), max(len(mem), 4)]})
    bars(axes[0][0], tput, "S1/S2 stoa vs nginx", target=[0.9, 0.95, 1.5],
         better="req/s, bytes/s: higher is better; p99: lower")
    bars(axes[0][1], wall + store, "S3 vs nginx, S4 vs direct, S8 largest vs smallest store",
         target=[1.05, 1.10, 1.25], better="lower is better")
    bars(axes[1][0], mem, "S7 peak RSS growth (VmHWM - idle RSS)", target=64, ylabel="MiB",
         better="target < 64 MiB")
    s6 = [r for r in rows if r["scenario"] == "S6" and "fetches" in r["metric"]]
    bars(axes[1][1], s6, "S6 upstream fetches of one missing zip", target=1, ylabel="fetches",
         better="target exactly 1")
    fig.suptitle(f"stoa {meta.get('commit', '?')} ({meta.get('mode', '?')} run, "
                 f"{meta.get('date', '?')}): {meta.get('nproc', '?')} x {meta.get('cpu', '?')}, "
                 f"loopback; bars: median, whiskers: min-max; red: target missed", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.output, dpi=72)


if __name__ == "__main__":
    main()
