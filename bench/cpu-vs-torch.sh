#!/usr/bin/env bash
# Kiln's `bench --device cpu` and PyTorch on the CPU (bench/torch-cpu.py) side by side, model by model, back
# to back in one run, and the ratio table with each process's peak resident set.
#
#   bench/cpu-vs-torch.sh [--seconds S] [--models LIST] [--repeat N] [--jar PATH] [--python PATH]
#
# Each model runs in a fresh JVM and a fresh Python process (peak RSS from /usr/bin/time's %M, so it is that
# model's own), Kiln first, then PyTorch with the same thread count. The load average is printed with each
# round, as the figures are only comparable within a round on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=10
models=mlp,mlp512,cnn,vgg11,resnet20
repeat=1
jar=engine/target/kiln-engine.jar
python=/usr/bin/python3
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --jar) jar="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -f "$jar" ] || { echo "no $jar: build it first (mvn -B -q -DskipTests package)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package time) for the peak RSS" >&2; exit 2; }
"$python" -c 'import torch' 2>/dev/null || { echo "$python has no torch: apt-get install python3-torch libopenblas0-pthread" >&2; exit 2; }
if [ -z "${JAVA_HOME:-}" ] && [ -f bin/find-jdk.sh ]; then
  # shellcheck disable=SC1091
  source bin/find-jdk.sh || true
fi
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
threads=$(nproc)

# the options a service's worker JVM gets (service/.../executor/WorkerJvm.java): the Vector API, the serial collector
# with a 64 MB young generation
worker_jvm=(--add-modules=jdk.incubator.vector -XX:+UseSerialGC -Xmn64m)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for round in $(seq 1 "$repeat"); do
  : > "$out/results"
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  for m in ${models//,/ }; do
    /usr/bin/time -f '%M' -o "$out/rss" "$java" "${worker_jvm[@]}" -jar "$jar" bench --device cpu --models "$m" --seconds "$seconds" \
      > "$out/kiln.json"
    echo "kiln $(tail -n1 "$out/kiln.json") $(tail -n1 "$out/rss")" >> "$out/results"
    /usr/bin/time -f '%M' -o "$out/rss" "$python" bench/torch-cpu.py --models "$m" --seconds "$seconds" \
      --threads "$threads" > "$out/torch.json"
    echo "torch $(tail -n1 "$out/torch.json") $(tail -n1 "$out/rss")" >> "$out/results"
  done
  load_end=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "round $round of $repeat, $(date -u '+%Y-%m-%d %H:%M UTC'), $threads threads, load average $load at start, $load_end at end"
  "$python" - "$out/results" <<'EOF'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    who, rest = line.split(" ", 1)
    js, rss = rest.rsplit(" ", 1)
    r = json.loads(js)
    rows.setdefault(r["model"], {})[who] = (r["img_per_s"], r["batch"], int(rss) / 1024.0)
print("| model | batch | Kiln img/s | PyTorch img/s | Kiln / PyTorch | Kiln peak RSS MiB | PyTorch peak RSS MiB |")
print("|---|---|---|---|---|---|---|")
def num(v):
    return format(round(v), ",") if v >= 100 else "%.1f" % v
for m, r in rows.items():
    k, t = r["kiln"], r["torch"]
    print("| %s | %d | %s | %s | %.2f | %.0f | %.0f |" % (m, k[1], num(k[0]), num(t[0]), k[0] / t[0], k[2], t[2]))
EOF
done
