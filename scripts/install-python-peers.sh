#!/usr/bin/env bash
# Installs the Python peers of the benchmarks (scikit-learn, numpy, scipy on
# OpenBLAS) from Debian 12 packages into a private folder, NOT system-wide:
# Debian's python3-sklearn pulls in python3-pythran, which wants libboost-dev
# (1.74) and so conflicts with the Boost 1.81 dev packages this project builds
# against.  Each .deb is fetched with `apt-get download` and unpacked with
# `dpkg -x`; nothing is configured and no maintainer script runs.
#
#   scripts/install-python-peers.sh [DIR]      (default DIR: build/python-peers)
#
# Then, for /usr/bin/python3 (the Debian Python the packages are built for):
#   export PYTHONPATH=DIR/usr/lib/python3/dist-packages
#   export LD_LIBRARY_PATH=DIR/usr/lib/x86_64-linux-gnu:DIR/usr/lib/x86_64-linux-gnu/openblas-pthread
# (the script prints both with absolute paths).  Does nothing when DIR already
# has a working scikit-learn.
set -euo pipefail

dir=${1:-build/python-peers}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
py=/usr/bin/python3
multiarch=x86_64-linux-gnu
libdir=$dir/usr/lib/$multiarch
site=$dir/usr/lib/python3/dist-packages
ld_path=$libdir:$libdir/openblas-pthread

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

print_exports() {
  echo "export PYTHONPATH=$site"
  echo "export LD_LIBRARY_PATH=$ld_path"
}

peers_work() {
  [ -x "$py" ] || return 1
  env -u PYTHONHOME PYTHONPATH="$site" LD_LIBRARY_PATH="$ld_path" \
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$py" -s -c '
import numpy, scipy, scipy.linalg, scipy.sparse, sklearn
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score
a = numpy.arange(9.0).reshape(3, 3) + numpy.eye(3)
assert abs(numpy.linalg.det(a) - scipy.linalg.det(a)) < 1e-9
' >/dev/null 2>&1
}

# numpy and scipy link against libblas.so.3 / liblapack.so.3, which Debian
# resolves through update-alternatives symlinks that `dpkg -x` does not create.
# Point them at OpenBLAS inside DIR, so the first LD_LIBRARY_PATH entry is
# enough and the system's reference BLAS (if any) is not picked up instead.
# libopenblas.so.0 is linked too: the two wrappers find it through
# RUNPATH=$ORIGIN, which glibc resolves to the folder of the symlink.
link_blas() {
  local ob=$libdir/openblas-pthread lib
  for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
    [ -e "$ob/$lib" ] || { echo "install-python-peers: $ob/$lib is missing" >&2; return 1; }
    ln -sfn "openblas-pthread/$lib" "$libdir/$lib"
  done
}

apt_lists_present() {
  compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null
}

# The Debian Python itself does not conflict with anything: install it normally.
if [ ! -x "$py" ]; then
  echo "install-python-peers: $py is missing, installing python3-minimal"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-minimal
fi
"$py" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' ||
  echo "install-python-peers: warning: $py is $("$py" --version 2>&1), the Debian 12 packages are built for 3.11" >&2

if { [ -d "$libdir/openblas-pthread" ] && link_blas; } 2>/dev/null && peers_work; then
  echo "install-python-peers: scikit-learn already importable from $dir"
  print_exports
  exit 0
fi

# Always unpacked into DIR (python3-pythran is left out on purpose: scipy only
# needs it to build, and it is the package that drags in libboost-dev).
packages=(python3-sklearn python3-sklearn-lib python3-numpy python3-scipy
          python3-joblib python3-threadpoolctl python3-decorator
          libopenblas0-pthread liblbfgsb0)
# Unpacked only when the system does not have them already.
for p in libgfortran5 libquadmath0 libgomp1 python3-pkg-resources; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || packages+=("$p")
done

apt_lists_present || $sudo apt-get update -qq
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# as root, apt downloads as its _apt user (else it warns and goes on unsandboxed)
[ "$(id -u)" -ne 0 ] || chown _apt "$tmp" 2>/dev/null || true
echo "install-python-peers: downloading ${packages[*]}"
if ! (cd "$tmp" && apt-get download -q "${packages[@]}" 2>"$tmp/apt.err"); then
  # stale lists (a point release replaced a version): refresh once and retry
  $sudo apt-get update -qq
  (cd "$tmp" && apt-get download -q "${packages[@]}") || { cat "$tmp/apt.err" >&2; exit 1; }
fi
for deb in "$tmp"/*.deb; do
  dpkg -x "$deb" "$dir"
done

link_blas

if ! peers_work; then
  echo "install-python-peers: the peers in $dir do not import; the error:" >&2
  env -u PYTHONHOME PYTHONPATH="$site" LD_LIBRARY_PATH="$ld_path" "$py" -s -c \
    'import numpy, scipy.linalg, sklearn.cluster' >&2 || true
  exit 1
fi
env -u PYTHONHOME PYTHONPATH="$site" LD_LIBRARY_PATH="$ld_path" "$py" -s -c '
import numpy, scipy, sklearn, sys
from threadpoolctl import threadpool_info
blas = [i.get("internal_api", "?") + " " + str(i.get("version")) for i in threadpool_info() if i.get("user_api") == "blas"]
print("install-python-peers: python %s, scikit-learn %s, numpy %s, scipy %s, BLAS %s"
      % (sys.version.split()[0], sklearn.__version__, numpy.__version__, scipy.__version__, ", ".join(blas) or "?"))'
print_exports
