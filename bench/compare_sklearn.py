#!/usr/bin/python3
"""Throughput of `coe analyze` against the usual scikit-learn stack, one thread.

Both sides get the same panels on the same machine, in one run of this
script: by default the 80 MT-Bench panels (31 answers each,
../shared/data/mtbench-panels.jsonl from the repository root) concatenated
--copies 3 times, 240 panels.

Engine: `coe analyze PANELS --json --threads 1 --features tfidf` (the like-for-like
method; the default word vectors are measured by backend_bench), wall time measured with
time.perf_counter around the subprocess; one untimed warm-up run (whose output
also gives the cluster labels), then the median of --repeats runs.  That time
INCLUDES process start-up, plugin loading and CPU detection, reading and
parsing the JSON Lines, and writing the JSON reports to a pipe.  To separate
the fixed start-up cost, the same command also runs (median of --repeats) on
a file holding only the first panel.  With t1 and tN the two medians, a
linear model start-up + N * per-panel gives
    per_panel = (tN - t1) / (N - 1),   start_up = t1 - per_panel,
and the throughput is reported both with start-up (N / tN, the whole process)
and without it (1 / per_panel).  The engine's peak resident set on the whole
file is reported too (VmHWM, from its performance report).

scikit-learn: for each panel, TfidfVectorizer(ngram_range=(1, 2),
sublinear_tf=True, stop_words='english').fit_transform on the 31 answers,
cosine_similarity, then AgglomerativeClustering(n_clusters=None,
metric='precomputed' (affinity= on scikit-learn < 1.2), linkage='average',
distance_threshold=1 - THRESHOLD) on the distance 1 - similarity.  One
untimed warm-up pass, then the median of --repeats passes over all panels, in
this process; OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1 are set before numpy is
imported.  Python start-up, imports and JSON parsing are NOT timed.

What is not comparable: the engine does more per panel than this peer.  It
hashes and stems its features, also extracts recommendation items from the
answers, clusters and merges them, computes consensus scores, centrality,
robust z-scores, outliers and confidence, and serialises a full JSON report.
The sklearn side only does TF-IDF + similarity + clustering of the answers,
so the ratio flatters scikit-learn.  Because the features differ (hashed,
stemmed TF-IDF vs. sklearn's word 1-2-grams), the clusters differ too: the
adjusted Rand index between the engine's `experts[].cluster` labels and
sklearn's labels, per panel and averaged, is reported as a sanity check of
comparability only; it is not expected to be 1.  Both sides use the same
linkage (average) and the same threshold (the engine merges while the best
average similarity is >= 0.12, its default --cluster-threshold).

Run with the Debian Python and the private peers (scripts/install-python-peers.sh):
  /usr/bin/python3 bench/compare_sklearn.py --peers build/python-peers [--json]
or with PYTHONPATH / LD_LIBRARY_PATH exported as that script prints them.
Standard library, numpy, scipy and scikit-learn only.
"""
import argparse
import json
import os
import atexit
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from machine_info import blas_info, cpu_model

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEFAULT_PANELS = "../shared/data/mtbench-panels.jsonl"  # relative to REPO
DEFAULT_COE = "build/bin/coe"  # relative to REPO
MULTIARCH = "x86_64-linux-gnu"

# single thread everywhere, before numpy / scipy / sklearn are imported
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--coe", help="coe binary (default: %s in the repository)" % DEFAULT_COE)
    ap.add_argument("--panels", help="JSON Lines panels (default: %s from the repository root)" % DEFAULT_PANELS)
    ap.add_argument("--repeats", type=int, default=5, help="timed repetitions, median taken (default 5)")
    ap.add_argument("--copies", type=int, default=3,
                    help="the panels file concatenated this many times (default 3: 240 MT-Bench panels)")
    ap.add_argument("--threshold", type=float, default=0.12,
                    help="cluster similarity threshold, both sides (default 0.12, the engine's default)")
    ap.add_argument("--peers", help="folder made by scripts/install-python-peers.sh: sets sys.path and "
                    "LD_LIBRARY_PATH (re-executes this script with /usr/bin/python3)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return ap.parse_args()


def use_peers(peers):
    """Re-exec with LD_LIBRARY_PATH / PYTHONPATH pointing into the peers folder."""
    peers = os.path.abspath(peers)
    site = os.path.join(peers, "usr", "lib", "python3", "dist-packages")
    libdir = os.path.join(peers, "usr", "lib", MULTIARCH)
    ld = [libdir, os.path.join(libdir, "openblas-pthread")]
    if not os.path.isdir(site):
        sys.exit("compare_sklearn: %s is missing; run scripts/install-python-peers.sh %s" % (site, peers))
    have = os.environ.get("LD_LIBRARY_PATH", "").split(":")
    if have[:len(ld)] != ld or os.environ.get("PYTHONPATH", "").split(":")[0] != site:
        # the dynamic loader reads LD_LIBRARY_PATH only at start-up: re-exec
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = ":".join(ld + [p for p in have if p and p not in ld])
        env["PYTHONPATH"] = ":".join([site] + [p for p in env.get("PYTHONPATH", "").split(":") if p and p != site])
        env.pop("PYTHONHOME", None)
        py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        os.execve(py, [py, "-s", os.path.abspath(__file__)] + sys.argv[1:], env)
    if site not in sys.path:
        sys.path.insert(0, site)




def median_wall(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def run_engine(cmd):
    r = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit("compare_sklearn: `%s` exited %d:\n%s" % (" ".join(cmd), r.returncode,
                                                         r.stderr.decode(errors="replace")[-2000:]))
    return r.stdout


def main():
    args = parse_args()
    if args.peers:
        use_peers(args.peers)
    try:
        import numpy as np
        import scipy
        import sklearn
        from sklearn.cluster import AgglomerativeClustering
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.metrics import adjusted_rand_score
        from sklearn.metrics.pairwise import cosine_similarity
    except ImportError as e:
        sys.exit("compare_sklearn: %s\nInstall the peers with scripts/install-python-peers.sh and pass "
                 "--peers build/python-peers (or export the PYTHONPATH / LD_LIBRARY_PATH it prints)." % e)

    # paths: the defaults are relative to the repository root, the engine runs there
    coe = os.path.abspath(args.coe) if args.coe else os.path.join(REPO, DEFAULT_COE)
    panels_arg = os.path.abspath(args.panels) if args.panels else DEFAULT_PANELS
    panels_path = os.path.join(REPO, panels_arg)  # join() keeps an absolute panels_arg
    if not os.access(coe, os.X_OK):
        sys.exit("compare_sklearn: %s is missing or not executable (build the project first)" % coe)
    with open(panels_path, encoding="utf-8") as f:
        lines = [l if l.endswith("\n") else l + "\n" for l in f if l.strip()]
    copies = max(1, args.copies)
    if copies > 1:
        lines = lines * copies
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as joined:
            joined.writelines(lines)
        atexit.register(os.unlink, joined.name)
        panels_arg = joined.name
    panels = [json.loads(l) for l in lines]
    n = len(panels)
    if n < 2:
        sys.exit("compare_sklearn: need at least 2 panels, %s has %d" % (panels_path, n))
    repeats = max(1, args.repeats)
    coe_cmd = os.path.relpath(coe, REPO) if coe.startswith(REPO + os.sep) else coe

    # ---- engine -----------------------------------------------------------
    cmd = [coe_cmd, "analyze", panels_arg, "--json", "--threads", "1", "--features", "tfidf"]
    out = run_engine(cmd)  # warm-up; its output gives the labels
    reports = {}
    backend = None
    for line in out.decode("utf-8").splitlines():
        if line.strip():
            rep = json.loads(line)
            reports[rep["id"]] = rep
            backend = backend or rep.get("backend")
    t_all, t_all_runs = median_wall(lambda: run_engine(cmd), repeats)
    # the engine's own peak resident set (VmHWM, in its performance report):
    # getrusage's maxrss of a child would include this Python process, which
    # the child shares until it execs
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as perf:
        pass
    try:
        run_engine(cmd + ["--report", perf.name])
        with open(perf.name) as f:
            peak_rss_mb = json.load(f)["peak_rss_bytes"] / float(1 << 20)
    finally:
        os.unlink(perf.name)

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as one:
        one.write(lines[0] if lines[0].endswith("\n") else lines[0] + "\n")
    try:
        cmd1 = [coe_cmd, "analyze", one.name, "--json", "--threads", "1", "--features", "tfidf"]
        run_engine(cmd1)
        t_one, t_one_runs = median_wall(lambda: run_engine(cmd1), repeats)
    finally:
        os.unlink(one.name)
    per_panel = (t_all - t_one) / (n - 1)
    startup = t_one - per_panel

    # ---- scikit-learn -------------------------------------------------------
    texts = [[r["content"] for r in p["responses"]] for p in panels]
    init_params = AgglomerativeClustering.__init__.__code__.co_varnames
    metric_kw = "metric" if "metric" in init_params else "affinity"
    distance_threshold = 1.0 - args.threshold

    def sklearn_panel(docs):
        x = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english").fit_transform(docs)
        sim = cosine_similarity(x)
        dist = 1.0 - sim
        np.fill_diagonal(dist, 0.0)
        np.clip(dist, 0.0, None, out=dist)  # rounding can give -1e-16
        return AgglomerativeClustering(n_clusters=None, linkage="average", distance_threshold=distance_threshold,
                                       **{metric_kw: "precomputed"}).fit_predict(dist)

    def sklearn_all():
        return [sklearn_panel(d) for d in texts]

    sk_labels = sklearn_all()  # warm-up
    t_sk, t_sk_runs = median_wall(sklearn_all, repeats)

    # ---- agreement ----------------------------------------------------------
    aris, eng_k, sk_k = [], [], []
    for p, labels in zip(panels, sk_labels):
        rep = reports.get(p["id"])
        if rep is None:
            continue
        by_expert = {e["expert"]: e["cluster"] for e in rep["experts"]}
        eng = [by_expert[r["expert"]] for r in p["responses"]]
        aris.append(float(adjusted_rand_score(eng, labels)))
        eng_k.append(len(set(eng)))
        sk_k.append(len(set(labels.tolist())))

    eng_pps = n / t_all
    eng_pps_wo = 1.0 / per_panel if per_panel > 0 else None
    sk_pps = n / t_sk
    res = {
        "panels": n,
        "responses_per_panel": round(statistics.mean(len(t) for t in texts), 2),
        "panels_file": panels_arg if copies == 1 else "%s x %d" % (DEFAULT_PANELS if not args.panels else args.panels, copies),
        "copies": copies,
        "engine_peak_rss_mb": round(peak_rss_mb, 1),
        "repeats": repeats,
        "threshold": args.threshold,
        "engine_command": " ".join(cmd),
        "engine_backend": backend,
        "engine_wall_s": round(t_all, 6),
        "engine_wall_s_runs": [round(t, 6) for t in t_all_runs],
        "engine_one_panel_wall_s": round(t_one, 6),
        "engine_startup_s": round(startup, 6),
        "engine_per_panel_ms": round(per_panel * 1e3, 4),
        "engine_panels_per_s": round(eng_pps, 2),
        "engine_panels_per_s_without_startup": round(eng_pps_wo, 2) if eng_pps_wo else None,
        "sklearn_wall_s": round(t_sk, 6),
        "sklearn_wall_s_runs": [round(t, 6) for t in t_sk_runs],
        "sklearn_per_panel_ms": round(t_sk / n * 1e3, 4),
        "sklearn_panels_per_s": round(sk_pps, 2),
        "ratio_engine_over_sklearn": round(eng_pps / sk_pps, 2),
        "ratio_engine_over_sklearn_without_startup": round(eng_pps_wo / sk_pps, 2) if eng_pps_wo else None,
        "mean_adjusted_rand_index": round(statistics.mean(aris), 4) if aris else None,
        "min_adjusted_rand_index": round(min(aris), 4) if aris else None,
        "max_adjusted_rand_index": round(max(aris), 4) if aris else None,
        "panels_compared": len(aris),
        "engine_mean_clusters": round(statistics.mean(eng_k), 2) if eng_k else None,
        "sklearn_mean_clusters": round(statistics.mean(sk_k), 2) if sk_k else None,
        "sklearn_clustering_param": metric_kw,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "python": "%s (%s)" % (platform.python_version(), sys.executable),
        "blas": blas_info(),
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
    }
    if args.json:
        json.dump(res, sys.stdout)
        print()
        return

    def f(x, d=2):
        return "-" if x is None else ("%." + str(d) + "f") % x
    print("CPU: %s (%d logical CPUs)" % (res["cpu_model"], res["cpus"]))
    print("Python %s; scikit-learn %s, numpy %s, scipy %s; BLAS %s"
          % (res["python"], res["sklearn_version"], res["numpy_version"], res["scipy_version"], res["blas"]))
    print("Panels: %d from %s, %.0f answers each; median of %d runs, one thread"
          % (n, panels_arg, res["responses_per_panel"], repeats))
    print()
    print("engine   `%s` (backend %s)" % (res["engine_command"], backend))
    print("         %.4f s for %d panels (process start + JSON output included): %s panels/s"
          % (t_all, n, f(eng_pps)))
    print("         %.4f s for 1 panel -> start-up ~%.2f ms, %.3f ms/panel: %s panels/s without start-up"
          % (t_one, startup * 1e3, per_panel * 1e3, f(eng_pps_wo)))
    print("sklearn  TfidfVectorizer(1,2) + cosine_similarity + AgglomerativeClustering(average, %s=precomputed)"
          % metric_kw)
    print("         %.4f s for %d panels (in-process, imports and parsing not timed): %s panels/s"
          % (t_sk, n, f(sk_pps)))
    print()
    print("ratio engine/sklearn: %sx with start-up, %sx without"
          % (f(res["ratio_engine_over_sklearn"]), f(res["ratio_engine_over_sklearn_without_startup"])))
    print("cluster agreement (adjusted Rand index, %d panels): mean %s, min %s, max %s; "
          "mean clusters per panel: engine %s, sklearn %s"
          % (len(aris), f(res["mean_adjusted_rand_index"], 3), f(res["min_adjusted_rand_index"], 3),
             f(res["max_adjusted_rand_index"], 3), f(res["engine_mean_clusters"], 1),
             f(res["sklearn_mean_clusters"], 1)))


if __name__ == "__main__":
    main()
