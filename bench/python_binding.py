#!/usr/bin/env python3
"""The cost of the Python binding: `Engine.analyze_many` against `coe analyze`.

Both analyse the same panels on the same machine in one run of this script:
the 80 MT-Bench panels concatenated --copies times (default 3: 240 panels).

CLI: `coe analyze PANELS.jsonl --json --threads T`, wall time of the whole
process (start-up, plugin loading, reading, parsing, analysing, writing the
reports to a pipe) measured around the subprocess; one untimed warm-up run,
then the median of --repeats runs.  The same command on a one-panel file
gives the fixed start-up cost.

Python: in this process, `engine.analyze_many(lines, threads=T)` on the
panels as JSON text (one str each) and on the panels as dicts (json.loads'ed
beforehand, not timed); the time covers handing the panels over, the
analysis, and turning every report into a dict.  Building the Engine (plugin
discovery) is timed once and reported apart.  One untimed warm-up call, then
the median of --repeats calls.

--sklearn: the usual scikit-learn stack on the same panels in the same
process, one thread, as bench/compare_sklearn.py runs it (per panel
TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words='english'),
cosine_similarity, AgglomerativeClustering(average linkage, precomputed
distance 1 - similarity, distance_threshold 1 - 0.12)); it does less per panel
than the engine (no items, scores or report), so the ratio flatters it.
Needs numpy, scipy and scikit-learn importable (scripts/install-python-peers.sh
prints the PYTHONPATH and LD_LIBRARY_PATH to export; add build/python to
that PYTHONPATH).

    PYTHONPATH=build/python python3 bench/python_binding.py --coe build/bin/coe \
        --panels ../shared/data/mtbench-panels.jsonl [--threads 1 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from machine_info import cpu_model


def median_wall(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sklearn_pass(panels):
    """One pass of the scikit-learn peer over `panels` (see the module's doc)."""
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    texts = [[r["content"] for r in p["responses"]] for p in panels]

    def one(docs):
        x = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english").fit_transform(docs)
        dist = 1.0 - cosine_similarity(x)
        np.fill_diagonal(dist, 0.0)
        np.clip(dist, 0.0, None, out=dist)
        return AgglomerativeClustering(n_clusters=None, linkage="average", distance_threshold=1.0 - 0.12,
                                       metric="precomputed").fit_predict(dist)

    return lambda: [one(d) for d in texts]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--coe", required=True, help="the coe tool")
    p.add_argument("--panels", required=True, help="a JSON Lines file of panels")
    p.add_argument("--copies", type=int, default=3)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 0])
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.add_argument("--sklearn", action="store_true", help="also time the scikit-learn peer in this process")
    args = p.parse_args()
    if args.sklearn:  # one BLAS/OpenMP thread, set before numpy is imported
        os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"

    import coe

    with open(args.panels, encoding="utf-8") as f:
        lines = [line for line in f.read().splitlines() if line.strip()] * args.copies
    dicts = [json.loads(line) for line in lines]
    tmp = tempfile.mkdtemp(prefix="coe-python-bench-")
    many_file = os.path.join(tmp, "panels.jsonl")
    one_file = os.path.join(tmp, "one.jsonl")
    with open(many_file, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(one_file, "w", encoding="utf-8") as f:
        f.write(lines[0] + "\n")

    start = time.perf_counter()
    engine = coe.Engine()
    engine_s = time.perf_counter() - start

    def cli(path: str, threads: int):
        return lambda: subprocess.run(
            [args.coe, "analyze", path, "--json", "--threads", str(threads or os.cpu_count() or 1)],
            check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    results = {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
               "panels": len(lines), "backend": engine.backend, "engine_construction_s": engine_s, "runs": []}
    for threads in args.threads:
        run = {"threads": threads or os.cpu_count()}
        run["cli_s"] = median_wall(cli(many_file, threads), args.repeats)
        run["cli_one_panel_s"] = median_wall(cli(one_file, threads), args.repeats)
        run["python_text_s"] = median_wall(lambda: engine.analyze_many(lines, threads=threads), args.repeats)
        run["python_dict_s"] = median_wall(lambda: engine.analyze_many(dicts, threads=threads), args.repeats)
        results["runs"].append(run)

    if args.sklearn:
        results["sklearn_s"] = median_wall(sklearn_pass(dicts), args.repeats)

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"CPU: {results['cpu']} ({results['cores']} cores seen), Python {results['python']}, "
          f"backend {results['backend']}, {results['panels']} panels; median of {args.repeats}")
    print(f"Engine() construction: {engine_s * 1000:.1f} ms")
    print("| threads | coe analyze (process) | coe analyze, 1 panel | analyze_many(str) | analyze_many(dict) |")
    print("|---|---|---|---|---|")
    for r in results["runs"]:
        n = results["panels"]
        print(f"| {r['threads']} | {r['cli_s']:.3f} s ({n / r['cli_s']:.0f} panels/s) | {r['cli_one_panel_s']:.3f} s "
              f"| {r['python_text_s']:.3f} s ({n / r['python_text_s']:.0f} panels/s) "
              f"| {r['python_dict_s']:.3f} s ({n / r['python_dict_s']:.0f} panels/s) |")
    if args.sklearn:
        print(f"scikit-learn peer, 1 thread, same process: {results['sklearn_s']:.3f} s "
              f"({results['panels'] / results['sklearn_s']:.0f} panels/s)")


if __name__ == "__main__":
    sys.exit(main())
