#!/usr/bin/env bash
# Trains the reference recipes of ../shared/data/README.md (Fashion-MNIST MLP, 10 epochs; CNN, 5 epochs) with
# the engine's command line and prints test accuracy and seconds per epoch for each.
# Usage: bench/recipes.sh [--device cpu|cuda] [mlp] [cnn]     (from the repository root, after mvn package)
set -euo pipefail
cd "$(dirname "$0")/.."
device=cpu
if [ "${1:-}" = "--device" ]; then device=$2; shift 2; fi
recipes=("$@")
[ ${#recipes[@]} -gt 0 ] || recipes=(mlp cnn)
jar=engine/target/kiln-engine.jar
[ -f "$jar" ] || { echo "build first: mvn -B -DskipTests package" >&2; exit 1; }
data_root=${KILN_DATA_ROOT:-../shared/data}
java=${JAVA:-java}
for r in "${recipes[@]}"; do
  log=$(mktemp)
  "$java" --add-modules=jdk.incubator.vector -XX:+UseSerialGC -Xmn64m -jar "$jar" train --spec "examples/fashion-$r.json" --data-root "$data_root" --device "$device" \
    | tee "$log" | grep -E '"event":"(epoch|done|error)"'
  python3 - "$r" "$device" "$log" <<'PY'
import json, sys
name, device, path = sys.argv[1:4]
ev = [json.loads(l) for l in open(path) if l.strip()]
epochs = [e for e in ev if e["event"] == "epoch"]
done = [e for e in ev if e["event"] == "done"]
secs = [e["seconds"] for e in epochs]
print(f"recipe {name} on {device}: test_acc {done[-1]['test_acc']:.4f}, "
      f"{sum(secs)/len(secs):.1f} s/epoch (min {min(secs):.1f}), "
      f"{sum(e['samples_per_s'] for e in epochs)/len(epochs):.0f} samples/s")
PY
  rm -f "$log"
done
