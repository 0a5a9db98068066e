#!/usr/bin/env bash
# Builds, on a machine with Java and Maven, everything bench/gpu-verify.sh needs on a GPU machine that has
# neither (see docs/cuda.md, "A first GPU run"): in DIR (default .device/, which git ignores)
#   kiln-service.jar   the service jar, which holds the engine too (its command line is io.kiln.engine.cli.EngineMain),
#                      without what a Linux x86-64 GPU run never loads (JCuda's PTX-compiler native, source maps)
#                      and oneDNN's natives (about 27 MB: the CPU reference then runs every layer in Java)
#   jre.tar.xz         a Java runtime (../shared/device/make-jre.sh, or KILN_MAKE_JRE)
#   data/fashion-mnist the test set and the first KILN_BUNDLE_TRAIN (default 10000) training images, to fit
#   kiln/              gpu-verify.sh, torch_bench.py, the two recipes and the shims' symbol lists
# and fails if the whole is over KILN_BUNDLE_LIMIT_MB (default 60) MiB, naming each part's size.
#   Usage: bench/gpu-bundle.sh [DIR]          (from anywhere; builds with mvn unless KILN_BUNDLE_NO_BUILD=1)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-$root/.device}" && cd "${1:-$root/.device}" && pwd)"
limit_mb=${KILN_BUNDLE_LIMIT_MB:-60}
train=${KILN_BUNDLE_TRAIN:-10000}
data_src=${KILN_BUNDLE_DATA:-$root/../shared/data/fashion-mnist}
make_jre=${KILN_MAKE_JRE:-$root/../shared/device/make-jre.sh}
jre_modules=${KILN_BUNDLE_JRE_MODULES:-java.base,java.logging,java.management,java.naming,java.sql,jdk.unsupported,java.desktop,jdk.crypto.ec,java.net.http,jdk.management,jdk.zipfs}

jar="$root/service/target/kiln-service.jar"
if [ "${KILN_BUNDLE_NO_BUILD:-}" != 1 ]; then
  # shellcheck source=/dev/null
  source "$root/bin/find-jdk.sh" >/dev/null
  (cd "$root" && mvn -B -q -DskipTests -pl service -am package)
fi
[ -f "$jar" ] || { echo "gpu-bundle: $jar missing (build it: mvn -B -DskipTests package)" >&2; exit 1; }

cp "$jar" "$out/kiln-service.jar"
# zip -d exits 12 when a pattern matches nothing: that is fine
zip -q -d "$out/kiln-service.jar" 'lib/libJNvPTXCompiler*' '*.map' 'org/bytedeco/dnnl/linux-x86_64/*' >/dev/null 2>&1 || [ $? -eq 12 ]

if [ ! -f "$out/jre.tar.xz" ] || [ "${KILN_BUNDLE_NEW_JRE:-}" = 1 ]; then
  [ -x "$make_jre" ] || { echo "gpu-bundle: no $make_jre (set KILN_MAKE_JRE)" >&2; exit 1; }
  # make-jre's modules and jdk.zipfs: Micronaut reads its service lists out of the jar through the zip file system
  # (without it the service stops at start with ProviderNotFoundException)
  "$make_jre" "$out/jre.tar.xz" "$jre_modules" >/dev/null
fi

[ -f "$data_src/train-images-idx3-ubyte.gz" ] || { echo "gpu-bundle: no Fashion-MNIST in $data_src (set KILN_BUNDLE_DATA)" >&2; exit 1; }
mkdir -p "$out/data/fashion-mnist"
cp "$data_src"/t10k-*-ubyte.gz "$out/data/fashion-mnist/"
# the first $train training images and labels, as IDX files of their own
python3 - "$data_src" "$out/data/fashion-mnist" "$train" <<'PY'
import gzip, struct, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for name, item in (("train-images-idx3-ubyte.gz", 28 * 28), ("train-labels-idx1-ubyte.gz", 1)):
    with gzip.open(f"{src}/{name}") as f:
        raw = f.read()
    dims = raw[3]
    header = bytearray(raw[:4 + 4 * dims])
    count = struct.unpack(">I", raw[4:8])[0]
    n = min(n, count)
    header[4:8] = struct.pack(">I", n)
    with gzip.GzipFile(f"{dst}/{name}", "wb", compresslevel=9, mtime=0) as f:
        f.write(bytes(header) + raw[len(header):len(header) + n * item])
PY

mkdir -p "$out/kiln/shims"
cp "$root/bench/gpu-verify.sh" "$root/bench/torch_bench.py" "$out/kiln/"
cp "$root/examples/fashion-mlp.json" "$root/examples/fashion-cnn.json" "$out/kiln/"
cp "$root"/cuda-kernels/src/main/shims/*.syms "$root/cuda-kernels/src/main/shims/cudnn9-missing.txt" "$out/kiln/shims/"
git -C "$root" rev-parse HEAD > "$out/kiln/commit" 2>/dev/null || echo unknown > "$out/kiln/commit"

total=$(du -sb "$out" | cut -f1)
sizes="$(cd "$out" && du -sb kiln-service.jar jre.tar.xz data kiln | awk '{printf "%s %.1f MiB, ", $2, $1/1048576}')"
echo "gpu-bundle: $out: ${sizes}total $(awk -v t="$total" 'BEGIN{printf "%.1f", t/1048576}') MiB"
if [ "$total" -gt $((limit_mb * 1048576)) ]; then
  echo "gpu-bundle: the bundle is over ${limit_mb} MiB (KILN_BUNDLE_LIMIT_MB); lower KILN_BUNDLE_TRAIN ($train)" >&2
  exit 1
fi
echo "run there: bash kiln/gpu-verify.sh RESULTS_DIR   (in the bundle folder)"
