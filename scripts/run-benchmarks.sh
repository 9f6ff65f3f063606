#!/usr/bin/env bash
# One command for the benchmark results: builds a Release tree (build-bench/),
# runs every backend benchmark, the OpenBLAS sgemm and scikit-learn
# comparisons (Python peers installed privately, see
# scripts/install-python-peers.sh), then writes bench/results/RESULTS.md,
# bench/results/speedup.svg and the results section of docs/benchmarks.md.
# Takes a few minutes; keep the machine otherwise idle.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOE_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench
mkdir -p bench/results

# the default features' rows need the word-vector file: the one setup.sh
# fetched into build/, unless COE_DATA_DIR names another folder
if [ -z "${COE_DATA_DIR:-}" ] && [ -f build/share/coe/word-vectors.coewv ]; then
  export COE_DATA_DIR="$PWD/build/share/coe"
fi
echo "== backend benchmarks"
build-bench/bin/backend_bench --benchmark_min_time=0.3 --benchmark_repetitions=3 \
  --benchmark_out=bench/results/backend_bench.json --benchmark_out_format=json

echo "== Python peers"
peers=build-bench/python-peers
scripts/install-python-peers.sh "$peers"
export PYTHONPATH="$PWD/$peers/usr/lib/python3/dist-packages"
export LD_LIBRARY_PATH="$PWD/$peers/usr/lib/x86_64-linux-gnu:$PWD/$peers/usr/lib/x86_64-linux-gnu/openblas-pthread"
# measure the BLAS as it runs by default on this CPU, single-threaded
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

echo "== OpenBLAS sgemm"
/usr/bin/python3 bench/sgemm_compare.py > bench/results/sgemm.json
# The target's shapes once more, each side right after the other, three
# rounds: on a shared machine two sides measured minutes apart can see
# different loads (make_report.py takes the median of the per-round ratios).
echo "== dense similarity against OpenBLAS, interleaved"
rm -f bench/results/dense_round*.json bench/results/sgemm_round*.json
for round in 1 2 3; do
  build-bench/bin/backend_bench --benchmark_filter='^similarity_dense/[^/]+/(200|1000)/(1024|4096)/' \
    --benchmark_min_time=0.3 --benchmark_out="bench/results/dense_round$round.json" \
    --benchmark_out_format=json >/dev/null
  /usr/bin/python3 bench/sgemm_compare.py --shapes 200/1024,200/4096,1000/1024,1000/4096 --repetitions 1 \
    > "bench/results/sgemm_round$round.json"
done
echo "== scikit-learn"
/usr/bin/python3 bench/compare_sklearn.py --coe build-bench/bin/coe --json > bench/results/sklearn.json

echo "== soak: coe serve under 10,000 consultations (the test tree's fake provider)"
if [ -x build/bin/fake_provider_server ]; then
  bench/soak.sh build 10000 50 > bench/results/soak.json
else
  echo "soak skipped: build/bin/fake_provider_server is missing (scripts/setup.sh builds it)"
fi

echo "== WebAssembly (SIMD and scalar modules in Node) against native, 240 panels"
if scripts/build-wasm.sh; then
  node bench/wasm_bench.mjs build-wasm/coe.mjs build-bench/bin/coe ../shared/data/mtbench-panels.jsonl \
    > bench/results/wasm.json
else
  echo "run-benchmarks: no WebAssembly numbers (scripts/build-wasm.sh did not build)" >&2
fi

echo "== report"
/usr/bin/python3 bench/make_report.py
