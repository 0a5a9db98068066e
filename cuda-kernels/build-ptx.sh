#!/usr/bin/env bash
# Rebuilds src/main/resources/io/kiln/cuda/kernels.ptx from src/main/cuda/*.cu(h) with nvcc.
#
#   cuda-kernels/build-ptx.sh                 # PTX for compute_75 (the oldest target nvcc 12.9+/13 accepts)
#   KILN_PTX_ARCH=compute_61 cuda-kernels/build-ptx.sh -o /some/where/kernels.ptx
#                                             # e.g. a GTX 1050 Ti (sm_61) with CUDA 11.x or 12.x's nvcc
#
# The first line of the PTX records a hash of the sources; PtxUpToDateTest fails when the committed PTX was
# built from other sources. The CUDA backend loads another PTX file instead of the built-in one when the
# system property kiln.cuda.ptx or the environment variable KILN_CUDA_PTX names it (see docs/cuda.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/src/main/cuda"
out="$here/src/main/resources/io/kiln/cuda/kernels.ptx"
arch="${KILN_PTX_ARCH:-compute_75}"
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out="$2"; shift 2 ;;
    *) echo "usage: $0 [-o OUTPUT.ptx]" >&2; exit 2 ;;
  esac
done
NVCC="${NVCC:-nvcc}"
if ! command -v "$NVCC" >/dev/null 2>&1; then
  echo "build-ptx.sh: nvcc not found (set NVCC or PATH); the committed PTX stays as it is" >&2
  exit 1
fi
# The source hash: sha256 of the 'sha256sum' listing of the sources in C-locale name order.
hash="$(cd "$src" && ls *.cu *.cuh | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)"
version="$("$NVCC" --version | grep -o 'release [0-9.]*, V[0-9.]*' | head -1)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$NVCC" --ptx -arch="$arch" -fmad=false -O3 -std=c++17 -I"$src" -o "$tmp/kernels.ptx" "$src/kernels.cu"
mkdir -p "$(dirname "$out")"
{
  echo "// kiln-cuda-sources-sha256: $hash"
  echo "// built by cuda-kernels/build-ptx.sh with nvcc $version: --ptx -arch=$arch -fmad=false -O3"
  cat "$tmp/kernels.ptx"
} > "$out"
echo "wrote $out ($arch, sources $hash)"
