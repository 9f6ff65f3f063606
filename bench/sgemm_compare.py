#!/usr/bin/env python3
"""Dense cosine-similarity matrices with numpy on OpenBLAS, one thread.

The job is the one `similarity_dense/<backend>/<n>/<dim>` does in
backend_bench: n random float32 vectors of `dim` values -> the n x n cosine
matrix (Gram matrix X X^T by sgemm, then divided by the outer product of the
norms).  Prints one JSON object: the time in ms per shape, the BLAS numpy
uses and the useful GFLOPS (2 * dim * n(n+1)/2 multiply-adds, the same count
backend_bench reports, although sgemm computes both triangles).

Timed as Google Benchmark times backend_bench's rows, so that the two sides
are read with one statistic: after one untimed call, each repetition calls
the job until --min-time seconds have passed and takes the mean per call;
the result is the median of --repetitions repetitions.

Run with the private peers (scripts/install-python-peers.sh):
  PYTHONPATH=... LD_LIBRARY_PATH=... /usr/bin/python3 bench/sgemm_compare.py
  [--shapes 200/1024,1000/4096] [--min-time 0.3] [--repetitions 3]
"""
import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from machine_info import blas_info  # noqa: E402

ALL_SHAPES = [(n, d) for n in (31, 200, 1000) for d in (256, 1024, 4096)]


def cosine(x):
    g = x @ x.T
    norms = np.sqrt(np.diag(g))
    return g / np.outer(norms, norms)


def mean_ms(fn, min_time):
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed * 1000.0 / calls


def shape_list(text):
    shapes = []
    for item in text.split(","):
        try:
            n, d = (int(v) for v in item.split("/"))
        except ValueError:
            raise argparse.ArgumentTypeError("shape %r: expected N/DIM, e.g. 200/1024" % item)
        if n < 1 or d < 1:
            raise argparse.ArgumentTypeError("shape %r: N and DIM must be >= 1" % item)
        shapes.append((n, d))
    return shapes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shapes", type=shape_list, default=ALL_SHAPES, help="N/DIM,... (default: all nine)")
    ap.add_argument("--min-time", type=float, default=0.3, help="seconds per repetition (default 0.3)")
    ap.add_argument("--repetitions", type=int, default=3, help="repetitions per shape (default 3)")
    args = ap.parse_args()
    if args.min_time <= 0 or args.repetitions < 1:
        ap.error("--min-time must be > 0 and --repetitions >= 1")
    rng = np.random.default_rng(1)
    out = {"numpy": np.__version__, "blas": blas_info(), "min_time_s": args.min_time,
           "repetitions": args.repetitions, "shapes": {}}
    for n, d in args.shapes:
        x = rng.standard_normal((n, d), dtype=np.float32)
        cosine(x)  # warm up
        ms = statistics.median(mean_ms(lambda: cosine(x), args.min_time) for _ in range(args.repetitions))
        flops = 2.0 * d * n * (n + 1) / 2.0
        out["shapes"]["%d/%d" % (n, d)] = {"ms": round(ms, 4), "gflops": round(flops / ms / 1e6, 3)}
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
