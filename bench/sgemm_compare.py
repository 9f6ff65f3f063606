#!/usr/bin/env python3
"""Dense cosine-similarity matrices with numpy on OpenBLAS, one thread.

The job is the one `similarity_dense/<backend>/<n>/<dim>` does in
backend_bench: n random float32 vectors of `dim` values -> the n x n cosine
matrix (Gram matrix X X^T by sgemm, then divided by the outer product of the
norms).  Prints one JSON object: the median time in ms per shape, the BLAS
numpy uses and the useful GFLOPS (2 * dim * n(n+1)/2 multiply-adds, the same
count backend_bench reports, although sgemm computes both triangles).

Run with the private peers (scripts/install-python-peers.sh):
  PYTHONPATH=... LD_LIBRARY_PATH=... /usr/bin/python3 bench/sgemm_compare.py
"""
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from machine_info import blas_info  # noqa: E402



def cosine(x):
    g = x @ x.T
    norms = np.sqrt(np.diag(g))
    return g / np.outer(norms, norms)


def median_ms(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    times.sort()
    return times[len(times) // 2]


def main():
    rng = np.random.default_rng(1)
    out = {"numpy": np.__version__, "blas": blas_info(), "shapes": {}}
    for n in (31, 200, 1000):
        for d in (256, 1024, 4096):
            x = rng.standard_normal((n, d), dtype=np.float32)
            cosine(x)  # warm up
            repeats = 5 if n * n * d > 1e9 else 20
            ms = median_ms(lambda: cosine(x), repeats)
            flops = 2.0 * d * n * (n + 1) / 2.0
            out["shapes"]["%d/%d" % (n, d)] = {"ms": round(ms, 4), "gflops": round(flops / ms / 1e6, 3)}
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
