#!/usr/bin/env python3
"""Turns one benchmark run into bench/results/RESULTS.md, bench/results/speedup.svg
and the results section of docs/benchmarks.md (between the bench:begin/end markers).

Inputs (written by scripts/run-benchmarks.sh into bench/results/):
  backend_bench.json  Google Benchmark JSON of build-bench/bin/backend_bench
  sgemm.json          bench/sgemm_compare.py
  dense_roundK.json, sgemm_roundK.json
                      the dense rows and sgemm_compare.py on the target's
                      shapes, run one after the other in rounds K = 1, 2, ...
  sklearn.json        bench/compare_sklearn.py --json
Standard library only.
"""
import json
import os
import re
import statistics
import sys
from xml.sax.saxutils import escape

from machine_info import cpu_flags, cpu_model

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
# The page whose generated block this rewrites, and the plot as linked from it.
REPORT_PAGE = os.path.join(HERE, "..", "docs", "benchmarks.md")
PLOT_LINK = "../bench/results/speedup.svg"
BACKENDS = ["scalar", "avx2", "avx512"]


def load(name):
    path = os.path.join(RESULTS, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)




def nominal_ghz(context):
    mhz = context.get("mhz_per_cpu") or 0
    return mhz / 1000.0


def index_benchmarks(doc):
    """name -> benchmark entry: the median of the repetitions when the run
    has them (a noisy neighbour then moves one repetition, not the table),
    else the single run."""
    def key(name):
        # rows timed by wall clock carry Google Benchmark's "/real_time" suffix
        return name[: -len("/real_time")] if name.endswith("/real_time") else name

    out = {}
    for b in doc["benchmarks"]:
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                out[key(b["run_name"])] = b
            continue
        out.setdefault(key(b.get("run_name", b["name"])), b)
    return out


def ms(b):
    t = b["real_time"] if "real_time" in b else b["cpu_time"]
    unit = b.get("time_unit", "ns")
    return t * {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def fmt(x, digits=2):
    if x is None:
        return "-"
    if x >= 100:
        return "%.0f" % x
    return ("%." + str(digits) + "f") % x


def interleaved_blas_ratios():
    """shape "n/d" -> the median over the interleaved rounds of (the best
    backend's dense GFLOPS / OpenBLAS's GFLOPS), with the medians of each
    side and the number of rounds; {} when the rounds are missing."""
    per_shape = {}
    k = 1
    while True:
        dense, blas = load("dense_round%d.json" % k), load("sgemm_round%d.json" % k)
        if dense is None or blas is None:
            break
        best = {}
        for name, entry in index_benchmarks(dense).items():
            m = re.match(r"similarity_dense/[^/]+/(\d+)/(\d+)$", name)
            if m and entry.get("GFLOPS"):
                shape = "%s/%s" % m.groups()
                best[shape] = max(best.get(shape, 0), entry["GFLOPS"])
        for shape, ours in best.items():
            theirs = blas["shapes"].get(shape, {}).get("gflops")
            if theirs:
                per_shape.setdefault(shape, []).append((ours / theirs, ours, theirs))
        k += 1
    median = statistics.median
    return {shape: {"ratio": median([r for r, _, _ in v]), "engine_gflops": median([o for _, o, _ in v]),
                    "blas_gflops": median([t for _, _, t in v]), "rounds": len(v)}
            for shape, v in sorted(per_shape.items(), key=lambda kv: tuple(int(x) for x in kv[0].split("/")))}


def main():
    bench = load("backend_bench.json")
    if bench is None:
        sys.exit("bench/results/backend_bench.json is missing: run scripts/run-benchmarks.sh")
    sgemm = load("sgemm.json")
    sklearn = load("sklearn.json")
    b = index_benchmarks(bench)
    backends = [x for x in BACKENDS if ("pipeline/" + x) in b]
    ctx = bench.get("context", {})
    ghz = nominal_ghz(ctx)
    flags = cpu_flags()
    peak = {}
    if ghz:
        peak["avx2"] = ghz * 2 * 8 * 2
        if "avx512f" in flags:
            peak["avx512"] = ghz * 2 * 16 * 2

    def get(name, key=None):
        e = b.get(name)
        if e is None:
            return None
        return e.get(key) if key else ms(e)

    rows = []  # (workload, unit, {backend: value}, higher_is_better)
    rows.append(("featurize (MT-Bench texts)", "MB/s",
                 {k: (get("featurize/" + k, "bytes_per_second") or 0) / 1e6 for k in backends}, True))
    for n in (31, 200, 1000):
        rows.append(("sparse similarity, n=%d" % n, "ms", {k: get("similarity_sparse/%s/%d" % (k, n)) for k in backends}, False))
    for n in (200, 1000):
        for d in (1024, 4096):
            rows.append(("dense similarity, n=%d, dim=%d" % (n, d), "GFLOPS",
                         {k: get("similarity_dense/%s/%d/%d" % (k, n, d), "GFLOPS") for k in backends}, True))
    rows.append(("pipeline, 80 MT-Bench panels, 1 thread, TF-IDF", "panels/s",
                 {k: get("pipeline/" + k, "items_per_second") for k in backends}, True))
    rows.append(("pipeline, 80 MT-Bench panels, 1 thread, word vectors (the default)", "panels/s",
                 {k: get("pipeline_word_vectors/" + k, "items_per_second") for k in backends}, True))
    rows.append(("coe.embed_words/1 per MT-Bench panel (answers + items)", "us",
                 {k: (get("embed_words/" + k, "time_per_panel") or 0) * 1e6 or None for k in backends}, False))
    for t in (1, 2):
        rows.append(("batch, %d thread%s" % (t, "s" if t > 1 else ""), "panels/s",
                     {k: get("batch/%s/threads:%d" % (k, t), "items_per_second") for k in backends}, True))

    machine = "%s, %s cores at %.2f GHz nominal (%s)" % (cpu_model(), ctx.get("num_cpus", "?"), ghz,
                                                          ctx.get("date", "")[:10])
    lines = []
    lines.append("Machine: %s. One run of `scripts/run-benchmarks.sh`; every number below comes from it." % machine)
    lines.append("")
    lines.append("| workload | unit | " + " | ".join(backends) + " | best vs scalar |")
    lines.append("|---|---|" + "---|" * len(backends) + "---|")
    speedups = []  # (workload, {backend: speedup})
    for name, unit, vals, higher in rows:
        cells = [fmt(vals.get(k)) for k in backends]
        sp = {}
        base = vals.get("scalar")
        for k in backends:
            v = vals.get(k)
            if v and base:
                sp[k] = (v / base) if higher else (base / v)
        best = max(sp.values()) if sp else None
        lines.append("| %s | %s | %s | %sx |" % (name, unit, " | ".join(cells), fmt(best)))
        if "batch" not in name:
            speedups.append((name, sp))
    lines.append("")

    # targets
    def ratio(a, c):
        return a / c if a and c else None
    targets = []
    pipe = {k: get("pipeline/" + k, "items_per_second") for k in backends}
    if sklearn:
        r = ratio(sklearn.get("engine_panels_per_s"), sklearn.get("sklearn_panels_per_s"))
        targets.append(("whole `coe analyze` process >= 25x scikit-learn, %d panels, 1 thread"
                        % sklearn.get("panels", 0), r, r is not None and r >= 25))
    words = {k: get("pipeline_word_vectors/" + k, "items_per_second") for k in backends}
    for label, rates in (("TF-IDF", pipe), ("word vectors", words)):
        for k, want in (("avx512", 2.0), ("avx2", 1.6)):
            if k in backends:
                r = ratio(rates.get(k), rates.get("scalar"))
                targets.append(("%s >= %.1fx scalar on the pipeline, %s" % (k, want, label), r,
                                r is not None and r >= want))
    best = backends[-1]
    per_panel = 1e6 / words[best] if words.get(best) else None
    targets.append(("word-vector pipeline <= 150 us per panel (%s)" % best, per_panel,
                    per_panel is not None and per_panel <= 150))
    r = ratio(get("embed_words/scalar", "time_per_panel"), get("embed_words/%s" % best, "time_per_panel"))
    targets.append(("coe.embed_words/1: %s >= 3x scalar" % best, r, r is not None and r >= 3))
    interleaved = interleaved_blas_ratios()
    if interleaved:
        worst_blas = min(v["ratio"] for v in interleaved.values())
        targets.append(("dense similarity >= 0.8x OpenBLAS sgemm throughput (worst shape, interleaved rounds)",
                        worst_blas, worst_blas >= 0.8))
    elif sgemm:
        worst_blas = None
        for n in (200, 1000):
            for d in (1024, 4096):
                top = max([get("similarity_dense/%s/%d/%d" % (k, n, d), "GFLOPS") or 0 for k in backends])
                blas = sgemm["shapes"].get("%d/%d" % (n, d), {}).get("gflops")
                rr = ratio(top, blas)
                if rr is not None:
                    worst_blas = rr if worst_blas is None else min(worst_blas, rr)
        targets.append(("dense similarity >= 0.8x OpenBLAS sgemm throughput (worst shape)", worst_blas,
                        worst_blas is not None and worst_blas >= 0.8))
    if "avx512" in backends:
        worst512 = None
        for n in (200, 1000):
            for d in (1024, 4096):
                rr = ratio(get("similarity_dense/avx512/%d/%d" % (n, d), "GFLOPS"),
                           get("similarity_dense/avx2/%d/%d" % (n, d), "GFLOPS"))
                if rr is not None:
                    worst512 = rr if worst512 is None else min(worst512, rr)
        targets.append(("avx512 >= 1.4x avx2 on dense similarity (worst shape)", worst512,
                        worst512 is not None and worst512 >= 1.4))
    best_backend = backends[-1]
    r = ratio(get("batch/%s/threads:2" % best_backend, "items_per_second"),
              get("batch/%s/threads:1" % best_backend, "items_per_second"))
    targets.append(("2 threads >= 1.8x 1 thread on a batch (%s)" % best_backend, r, r is not None and r >= 1.8))

    lines.append("| target | measured | met |")
    lines.append("|---|---|---|")
    for name, val, ok in targets:
        unit = " us" if name.endswith(" per panel") or " per panel (" in name else "x"
        lines.append("| %s | %s | %s |" % (name, (fmt(val) + unit) if val is not None else "not measured",
                                          "yes" if ok else "**no**"))
    alloc = get("pipeline/%s" % best_backend, "alloc_bytes_per_panel")
    allocs = get("pipeline/%s" % best_backend, "allocs_per_panel")
    lines.append("| bytes allocated per panel in steady state = 0 (pipeline, %s) | %s bytes in %s allocations | %s |"
                 % (best_backend, "%.0f" % alloc if alloc is not None else "not measured",
                    "%.0f" % allocs if allocs is not None else "?", "yes" if alloc == 0 else "**no**"))
    if sklearn and sklearn.get("engine_peak_rss_mb") is not None:
        rss = sklearn["engine_peak_rss_mb"]
        lines.append("| peak RSS of `coe analyze` on the %d-panel file <= 40 MB | %s MB | %s |"
                     % (sklearn.get("panels", 0), fmt(rss, 1), "yes" if rss <= 40 else "**no**"))
    lines.append("")

    # the stages of one panel against their budgets
    stages = [("parse (JSON line to panel)", "stage/parse", None),
              ("featurize", "stage/featurize/%s", True),
              ("similarity", "stage/similarity/%s", True),
              ("cluster + consensus + aggregate", "stage/cluster_consensus_aggregate/%s/manual_time", True),
              ("report serialisation", "stage/serialise", None)]
    stage_rows = []
    for label, pattern, per_backend in stages:
        vals, budget = {}, None
        for k in (backends if per_backend else ["scalar"]):
            e = b.get(pattern % k if per_backend else pattern)
            if e and e.get("items_per_second"):
                vals[k] = 1e6 / e["items_per_second"]
                budget = e.get("budget_us")
        if vals:
            stage_rows.append((label, vals, budget, per_backend))
    if stage_rows:
        lines.append("Stages of one MT-Bench panel (31 answers, ~28 KB), microseconds, one thread:")
        lines.append("")
        lines.append("| stage | " + " | ".join(backends) + " | budget | met (best) |")
        lines.append("|---|" + "---|" * len(backends) + "---|---|")
        for label, vals, budget, per_backend in stage_rows:
            cells = [fmt(vals.get(k)) if per_backend else (fmt(vals["scalar"]) + " (any)" if k == "scalar" else "")
                     for k in backends]
            best = min(vals.values())
            lines.append("| %s | %s | %s | %s |" % (label, " | ".join(cells), fmt(budget),
                                                    "yes" if budget and best <= budget else "**no**"))
        lines.append("")
    if sklearn:
        lines.append("Peer: scikit-learn %s (TfidfVectorizer(1,2) + cosine_similarity + AgglomerativeClustering, "
                     "one thread) on %d panels: %s s, %s panels/s; this engine (`coe analyze --threads 1`, whole "
                     "process): %s s, %s panels/s, ratio %sx; without its start-up of %s ms: %s panels/s, ratio %sx. "
                     "Mean adjusted Rand index between the two clusterings: %s."
                     % (sklearn.get("sklearn_version", "?"), sklearn.get("panels", 0),
                        fmt(sklearn.get("sklearn_wall_s"), 3), fmt(sklearn.get("sklearn_panels_per_s")),
                        fmt(sklearn.get("engine_wall_s"), 3), fmt(sklearn.get("engine_panels_per_s")),
                        fmt(ratio(sklearn.get("engine_panels_per_s"), sklearn.get("sklearn_panels_per_s"))),
                        fmt((sklearn.get("engine_startup_s") or 0) * 1e3, 1),
                        fmt(sklearn.get("engine_panels_per_s_without_startup")),
                        fmt(ratio(sklearn.get("engine_panels_per_s_without_startup"),
                                  sklearn.get("sklearn_panels_per_s"))),
                        fmt(sklearn.get("mean_adjusted_rand_index"), 3)))
    if sgemm:
        shapes = ", ".join("n=%s dim=%s: %s GFLOPS" % (k.split("/")[0], k.split("/")[1], fmt(v["gflops"]))
                           for k, v in sgemm["shapes"].items() if k.split("/")[0] in ("200", "1000")
                           and k.split("/")[1] in ("1024", "4096"))
        lines.append("")
        lines.append("OpenBLAS (numpy %s, %s), one thread, same useful-FLOP count: %s." %
                     (sgemm.get("numpy"), sgemm.get("blas"), shapes))
    if interleaved:
        lines.append("")
        lines.append("Dense similarity against OpenBLAS, the two measured one after the other in %d rounds "
                     "(best backend's GFLOPS / OpenBLAS's, median of the rounds' ratios): "
                     % max(v["rounds"] for v in interleaved.values()) +
                     ", ".join("n=%s dim=%s: %s (%s / %s)" % (k.split("/")[0], k.split("/")[1], fmt(v["ratio"]),
                                                               fmt(v["engine_gflops"]), fmt(v["blas_gflops"]))
                               for k, v in interleaved.items()) + ".")
    if peak:
        lines.append("")
        lines.append("Theoretical single-core FP32 FMA peak at the nominal clock (2 FMA units): " +
                     ", ".join("%s %s GFLOPS" % (k, fmt(v)) for k, v in peak.items()) + ".")
    text = "\n".join(lines) + "\n"

    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "RESULTS.md"), "w") as f:
        f.write("# Benchmark results\n\n" + text + "\n![speed-up over scalar](speedup.svg)\n")
    write_svg(os.path.join(RESULTS, "speedup.svg"), speedups, backends, machine)

    with open(REPORT_PAGE) as f:
        page = f.read()
    block = ("<!-- bench:begin (generated by bench/make_report.py; do not edit) -->\n" + text +
             "\n![speed-up over scalar](" + PLOT_LINK + ")\n<!-- bench:end -->")
    if "<!-- bench:begin" in page:
        page = re.sub(r"<!-- bench:begin.*?<!-- bench:end -->", lambda _: block, page, flags=re.S)
    else:
        page += "\n" + block + "\n"
    with open(REPORT_PAGE, "w") as f:
        f.write(page)
    print(text)


def write_svg(path, speedups, backends, machine):
    """Horizontal grouped bars: speed-up over scalar per workload and backend."""
    colors = {"scalar": "#9e9e9e", "avx2": "#1f77b4", "avx512": "#d62728"}
    bar, gap, left, top = 12, 10, 300, 40
    rows = [(n, sp) for n, sp in speedups if sp]
    vmax = max([v for _, sp in rows for v in sp.values()] + [1.0])
    width = 900
    scale = (width - left - 80) / vmax
    height = top + len(rows) * (bar * len(backends) + gap) + 60
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">'
           % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="20" font-size="14">Speed-up over the scalar backend (higher is better)</text>',
           '<text x="10" y="34" font-size="10" fill="#555">%s</text>' % escape(machine)]
    y = top
    for name, sp in rows:
        out.append('<text x="%d" y="%d" text-anchor="end">%s</text>'
                   % (left - 8, y + bar * len(backends) / 2 + 4, escape(name)))
        for k in backends:
            v = sp.get(k)
            if v is not None:
                out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>'
                           % (left, y, v * scale, bar - 2, colors.get(k, "#000")))
                out.append('<text x="%.1f" y="%d" font-size="10">%.2fx</text>' % (left + v * scale + 4, y + bar - 3, v))
            y += bar
        y += gap
    x1 = left + scale
    out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#444" stroke-dasharray="3,3"/>' % (x1, top - 4, x1, y))
    lx = left
    for k in backends:
        out.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>' % (lx, y + 10, colors.get(k, "#000")))
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 16, y + 20, k))
        lx += 90
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
