#!/usr/bin/env bash
# Builds, on a machine with Java and Maven, everything bench/gpu-verify.sh needs on a GPU machine that has
# neither (see docs/cuda.md, "A first GPU run"): in DIR (default .device/, which git ignores)
#   kiln-service.jar   the service jar, which holds the engine too (its command line is io.kiln.engine.cli.EngineMain),
#                      without what a Linux x86-64 GPU run never loads (JCuda's PTX-compiler native, source maps,
#                      other systems' natives, C headers, the dashboard's web libraries) and oneDNN's natives
#                      (about 27 MB: the CPU reference then runs every layer in Java)
#   jre.tar.xz         a Java runtime (../shared/device/make-jre.sh, or KILN_MAKE_JRE) of KILN_BUNDLE_JRE_MODULES,
#                      which jre.modules beside it names (a runtime of other modules is made again)
#   data/fashion-mnist the first KILN_BUNDLE_TEST (default 5000) test and KILN_BUNDLE_TRAIN (default 6000)
#                      training images, to fit
#   kiln/              gpu-verify.sh, torch_bench.py, the two recipes and the shims' symbol lists
# and fails if the bundle and the rest of what travels with it (the repository's working tree) are over
# KILN_BUNDLE_LIMIT_MB (default 63: the device call takes 64 MiB in all) MiB, naming each part's size.
#   Usage: bench/gpu-bundle.sh [DIR]          (from anywhere; builds with mvn unless KILN_BUNDLE_NO_BUILD=1)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-$root/.device}" && cd "${1:-$root/.device}" && pwd)"
limit_mb=${KILN_BUNDLE_LIMIT_MB:-63}
train=${KILN_BUNDLE_TRAIN:-6000}
test_images=${KILN_BUNDLE_TEST:-5000}
data_src=${KILN_BUNDLE_DATA:-$root/../shared/data/fashion-mnist}
make_jre=${KILN_MAKE_JRE:-$root/../shared/device/make-jre.sh}
# make-jre's modules, jdk.zipfs (Micronaut reads its service lists out of the jar through the zip file system: without
# it the service stops at start with ProviderNotFoundException) and jdk.jfr (Micronaut's HTTP server records flight
# recorder events: without it every request fails with NoClassDefFoundError jdk/jfr/Event). java.desktop stays: the
# service's beans load the report's image classes.
jre_modules=${KILN_BUNDLE_JRE_MODULES:-java.base,java.logging,java.management,java.naming,java.sql,jdk.unsupported,java.desktop,jdk.crypto.ec,java.net.http,jdk.management,jdk.zipfs,jdk.jfr}

jar="$root/service/target/kiln-service.jar"
if [ "${KILN_BUNDLE_NO_BUILD:-}" != 1 ]; then
  # shellcheck source=/dev/null
  source "$root/bin/find-jdk.sh" >/dev/null
  (cd "$root" && mvn -B -q -DskipTests -pl service -am package)
fi
[ -f "$jar" ] || { echo "gpu-bundle: $jar missing (build it: mvn -B -DskipTests package)" >&2; exit 1; }

cp "$jar" "$out/kiln-service.jar"
# zip -d exits 12 when a pattern matches nothing: that is fine
zip -q -d "$out/kiln-service.jar" 'lib/libJNvPTXCompiler*' 'lib/libJNvrtc*' '*.map' 'org/bytedeco/dnnl/linux-x86_64/*' \
  'org/bytedeco/*/linux-x86_64/include/*' 'net/jpountz/util/win32/*' 'net/jpountz/util/darwin/*' \
  'net/jpountz/util/linux/aarch64/*' 'net/jpountz/util/linux/ppc64le/*' 'net/jpountz/util/linux/s390x/*' \
  'net/jpountz/util/linux/i386/*' 'META-INF/resources/webjars/*' >/dev/null 2>&1 || [ $? -eq 12 ]

if [ ! -f "$out/jre.tar.xz" ] || [ "${KILN_BUNDLE_NEW_JRE:-}" = 1 ] \
    || [ "$(cat "$out/jre.modules" 2>/dev/null)" != "$jre_modules" ]; then
  [ -x "$make_jre" ] || { echo "gpu-bundle: no $make_jre (set KILN_MAKE_JRE)" >&2; exit 1; }
  "$make_jre" "$out/jre.tar.xz" "$jre_modules" >/dev/null
  echo "$jre_modules" > "$out/jre.modules"
fi

[ -f "$data_src/train-images-idx3-ubyte.gz" ] || { echo "gpu-bundle: no Fashion-MNIST in $data_src (set KILN_BUNDLE_DATA)" >&2; exit 1; }
mkdir -p "$out/data/fashion-mnist"
# the first $test_images test and $train training images and labels, as IDX files of their own
python3 - "$data_src" "$out/data/fashion-mnist" "$train" "$test_images" <<'PY'
import gzip, struct, sys
src, dst, train, test = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for name, item, n in (("train-images-idx3-ubyte.gz", 28 * 28, train), ("train-labels-idx1-ubyte.gz", 1, train),
                      ("t10k-images-idx3-ubyte.gz", 28 * 28, test), ("t10k-labels-idx1-ubyte.gz", 1, test)):
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

# what travels beside it: the files git tracks, and the untracked ones it does not ignore
tree=$( (cd "$root" && { git ls-files -z; git ls-files -z -o --exclude-standard; } 2>/dev/null \
  | xargs -0 -r stat -c %s -- 2>/dev/null) | awk '{s += $1} END {print s + 0}')
bundle=$(du -sb "$out" | cut -f1)
total=$((bundle + tree))
sizes="$(cd "$out" && du -sb kiln-service.jar jre.tar.xz data kiln | awk '{printf "%s %.1f MiB, ", $2, $1/1048576}')"
mib() { awk -v t="$1" 'BEGIN{printf "%.1f", t/1048576}'; }
echo "gpu-bundle: $out: ${sizes}bundle $(mib "$bundle") MiB, with the working tree ($(mib "$tree") MiB) $(mib "$total") MiB"
if [ "$total" -gt $((limit_mb * 1048576)) ]; then
  echo "gpu-bundle: the bundle and the working tree are over ${limit_mb} MiB (KILN_BUNDLE_LIMIT_MB); lower" \
    "KILN_BUNDLE_TRAIN ($train) or KILN_BUNDLE_TEST ($test_images)" >&2
  exit 1
fi
echo "run there: bash kiln/gpu-verify.sh RESULTS_DIR   (in the bundle folder)"
