#!/usr/bin/env bash
# The first run of Kiln's CUDA backend on a machine with an NVIDIA GPU, as one command, from the bundle that
# bench/gpu-bundle.sh makes (see docs/cuda.md, "A first GPU run"). In the bundle folder:
#   bash kiln/gpu-verify.sh RESULTS_DIR
# Steps (each bounded in time, 6 minutes in all on an H100-class GPU): the GPU, the driver and the CUDA, cuDNN
# and cuBLAS files found; the shims' symbol lists against the installed libraries; gpu-check in fp32 and tf32;
# gpu-check under compute-sanitizer when it is there; `bench --device cuda` beside PyTorch (eager and CUDA
# graph) with Kiln/PyTorch ratios; the MLP and CNN recipes on cuda; the service with a CUDA job submitted over
# REST, followed to SUCCEEDED, its metrics and /devices. Writes RESULTS_DIR/results.json, summary.md and log.txt.
# Exit: 0 all passed; 1 some step failed (each named on stderr and in the summary); 2 bad usage or bundle;
# 3 no NVIDIA GPU found (said at once, nothing run). KILN_NVIDIA_SMI names nvidia-smi; KILN_FIND_ROOTS (default /)
# where the library files are looked for; JAVA a Java to use instead of the bundle's.
set -uo pipefail
out=${1:-}
[ -n "$out" ] || { echo "usage: gpu-verify.sh RESULTS_DIR" >&2; exit 2; }
mkdir -p "$out" || exit 2
out="$(cd "$out" && pwd)"
bundle="$(cd "$(dirname "$0")/.." && pwd)"
log="$out/log.txt"
: > "$log"

# ---- a GPU, or stop now ------------------------------------------------------------------------------
smi=${KILN_NVIDIA_SMI:-nvidia-smi}
gpus=""
if command -v "$smi" >/dev/null 2>&1; then
  gpus=$(timeout 20 "$smi" -L 2>/dev/null | grep -E '^GPU [0-9]+' || true)
fi
if [ -z "$gpus" ]; then
  msg="gpu-verify: no NVIDIA GPU found ($smi $(command -v "$smi" >/dev/null 2>&1 && echo "lists no GPU" || echo "is not installed")); nothing was run"
  echo "$msg" >&2
  printf '{"gpu": null, "passed": false, "failed": ["gpu"], "message": "%s"}\n' "$msg" > "$out/results.json"
  printf '# gpu-verify\n\n%s\n' "$msg" > "$out/summary.md"
  exit 3
fi

jar="$bundle/kiln-service.jar"
[ -f "$jar" ] || { echo "gpu-verify: $jar missing: run from a bundle made by bench/gpu-bundle.sh" >&2; exit 2; }
unset LD_LIBRARY_PATH  # as a user would have it: Kiln must find the libraries itself
java=${JAVA:-}
if [ -z "$java" ]; then
  if [ -f "$bundle/jre.tar.xz" ]; then
    jre_dir=$(mktemp -d)
    tar xJf "$bundle/jre.tar.xz" -C "$jre_dir" && java="$jre_dir/jre/bin/java"
  else
    java=$(command -v java || true)
  fi
fi
[ -x "$java" ] || { echo "gpu-verify: no Java runtime (jre.tar.xz in the bundle, or JAVA)" >&2; exit 2; }
engine() { "$java" -cp "$jar" io.kiln.engine.cli.EngineMain "$@"; }
data_root="$bundle/data"
steps=()      # name|status|seconds
failed=()

# step NAME TIMEOUT_S COMMAND...: runs it with its output into the log and $out/NAME.out, records the outcome
step() {
  local name=$1 limit=$2; shift 2
  local start=$SECONDS rc
  echo "==== $name: $*" >> "$log"
  # through bash, so that a step may be one of the functions below (exported with what they use)
  timeout "$limit" bash -c '"$@"' step "$@" > "$out/.$name.out" 2>&1
  rc=$?
  cat "$out/.$name.out" >> "$log"
  local secs=$((SECONDS - start)) status=ok
  if [ $rc -ne 0 ]; then
    status="FAILED (exit $rc$([ $rc -eq 124 ] && echo ", over ${limit} s"))"
    failed+=("$name")
    echo "gpu-verify: step $name failed: exit $rc (see log.txt)" >&2
  fi
  steps+=("$name|$status|$secs")
  echo "$(printf '%-20s' "$name") $status (${secs} s)" >&2
  return 0
}

# ---- what is there -------------------------------------------------------------------------------------
inventory() {
  "$smi" --query-gpu=index,name,driver_version,compute_cap,memory.total,memory.used --format=csv
  echo "--- CUDA, cuDNN and cuBLAS files"
  find ${KILN_FIND_ROOTS:-/} -xdev \( -name 'libcudnn*.so*' -o -name 'libcublas*.so*' -o -name 'libcuda.so*' -o -name 'libnvidia-ml.so*' \) \
    -not -path '/proc/*' 2>/dev/null | sort
  command -v nvcc >/dev/null && nvcc --version | tail -2
  command -v compute-sanitizer >/dev/null && echo "compute-sanitizer: $(command -v compute-sanitizer)"
  "$java" -version 2>&1 | head -1
  echo "bundle commit: $(cat "$bundle/kiln/commit" 2>/dev/null)"
}
export smi out bundle java jar data_root
export -f engine inventory
step inventory 90 inventory

# Every symbol the shims forward must exist in the newest library found (cuDNN 9 lacks the listed missing ones).
symbols() {
  local bad=0 lib syms soname
  for pair in "libcublas.so.11.syms:libcublas.so.13 libcublas.so.12" "libcudnn.so.8.syms:libcudnn.so.9"; do
    syms="$bundle/kiln/shims/${pair%%:*}"
    lib=""
    for soname in ${pair#*:}; do
      lib=$(grep -m1 "/$soname\$" "$out/.inventory.out" || true)
      [ -n "$lib" ] && break
    done
    if [ -z "$lib" ]; then echo "no ${pair#*:} found"; bad=1; continue; fi
    local have missing
    have=$(nm -D --defined-only "$lib" 2>/dev/null | awk '{print $NF}' | sed 's/@.*//' | sort -u)
    missing=$(comm -23 <(sort -u "$syms") <(echo "$have"))
    if [ "$soname" = libcudnn.so.9 ]; then
      missing=$(comm -23 <(echo "$missing" | sed '/^$/d' | sort -u) <(sort -u "$bundle/kiln/shims/cudnn9-missing.txt"))
    fi
    echo "$lib: $(wc -l < "$syms") symbols forwarded, missing: ${missing:-none}"
    [ -z "$missing" ] || bad=1
  done
  return $bad
}
export -f symbols
step symbols 60 symbols

step gpu-check-fp32 120 engine gpu-check --precision fp32
step gpu-check-tf32 120 engine gpu-check --precision tf32
if command -v compute-sanitizer >/dev/null 2>&1; then
  step sanitizer 150 compute-sanitizer --tool memcheck --error-exitcode 9 --target-processes all \
    "$java" -cp "$jar" io.kiln.engine.cli.EngineMain gpu-check --precision fp32
else
  steps+=("sanitizer|skipped (no compute-sanitizer)|0")
fi

# ---- speed beside PyTorch --------------------------------------------------------------------------------
step bench-kiln 150 engine bench --device cuda --seconds 3
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  step bench-torch 150 python3 "$bundle/kiln/torch_bench.py" --device cuda --seconds 3
else
  steps+=("bench-torch|skipped (no PyTorch with CUDA)|0")
fi

# ---- training ------------------------------------------------------------------------------------------------
for r in mlp cnn; do
  step "train-$r" 150 engine train --spec "$bundle/kiln/fashion-$r.json" --data-root "$data_root" --device cuda \
    --out "$(mktemp -d)"
done

# ---- the service, a CUDA job over REST -------------------------------------------------------------------
service() {
  local home port token pid
  home=$(mktemp -d); token="verify-$RANDOM$RANDOM"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  KILN_HOME="$home" KILN_DATA_ROOT="$data_root" KILN_ADMIN_TOKEN="$token" MICRONAUT_SERVER_PORT="$port" \
    "$java" -jar "$jar" > "$home/service.log" 2>&1 &
  pid=$!
  python3 - "$port" "$token" "$bundle/kiln/fashion-mlp.json" <<'PY'
import json, sys, time, urllib.error, urllib.request
port, token, spec_file = sys.argv[1], sys.argv[2], sys.argv[3]
base = f"http://127.0.0.1:{port}"
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:  # the service's own words, not a traceback
        sys.exit(f"{method} {path}: HTTP {e.code}: {e.read().decode(errors='replace')}")
for _ in range(120):
    try:
        urllib.request.urlopen(base + "/health", timeout=2); break
    except Exception:
        time.sleep(0.5)
else:
    sys.exit("the service did not answer /health in 60 s")
spec = json.load(open(spec_file)); spec["device"] = "cuda"; spec["training"]["epochs"] = 2; spec["name"] = "gpu-verify"
job = call("POST", "/api/v1/jobs", spec); print("submitted job", job["id"])
state = None
for _ in range(240):
    j = call("GET", f"/api/v1/jobs/{job['id']}")
    if j["state"] != state:
        state = j["state"]; print("state", state, "device", j.get("device"))
    if state in ("SUCCEEDED", "FAILED", "CANCELLED"):
        break
    time.sleep(0.5)
print("job", json.dumps(j))
print("metrics", json.dumps(call("GET", f"/api/v1/jobs/{job['id']}/metrics?maxPoints=20")))
print("devices", json.dumps(call("GET", "/api/v1/devices")))
sys.exit(0 if state == "SUCCEEDED" else f"the job ended {state}: {j.get('error')}")
PY
  local rc=$?
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  [ $rc -eq 0 ] || { echo "--- service log"; tail -50 "$home/service.log"; }
  return $rc
}
export -f service
step service 150 service

# ---- results ------------------------------------------------------------------------------------------------
python3 - "$out" "${steps[@]}" <<'PY'
import json, os, re, sys
out, steps = sys.argv[1], [s.split("|") for s in sys.argv[2:]]
def text(name):
    p = os.path.join(out, f".{name}.out")
    return open(p, errors="replace").read() if os.path.exists(p) else ""
def jsonl(name):
    rows = []
    for line in text(name).splitlines():
        if line.startswith("{"):
            try: rows.append(json.loads(line))
            except ValueError: pass
    return rows
res = {"steps": [{"name": n, "status": s, "seconds": int(t)} for n, s, t in steps]}
res["failed"] = [n for n, s, _ in steps if s.startswith("FAILED")]
res["passed"] = not res["failed"]
res["inventory"] = text("inventory").splitlines()
for p in ("fp32", "tf32"):
    t = text(f"gpu-check-{p}")
    m = re.findall(r"(\d+) passed, (\d+) failed", t)
    res[f"gpu_check_{p}"] = {"summary": m[-1] if m else None, "failures": [l for l in t.splitlines() if l.startswith("FAIL")]}
kiln = {r["model"]: r for r in jsonl("bench-kiln")}
torch = {(r["model"], r["mode"]): r for r in jsonl("bench-torch")}
res["speed"] = []
for m, r in kiln.items():
    row = {"model": m, "batch": r.get("batch"), "kiln_img_per_s": r.get("img_per_s")}
    for mode in ("eager", "graph"):
        t = torch.get((m, mode))
        if t:
            row[f"torch_{mode}"] = t["img_per_s"]
            row[f"ratio_{mode}"] = round(r["img_per_s"] / t["img_per_s"], 3) if t["img_per_s"] else None
    res["speed"].append(row)
res["training"] = {}
for r in ("mlp", "cnn"):
    ev = jsonl(f"train-{r}")
    ep = [e for e in ev if e.get("event") == "epoch"]
    done = [e for e in ev if e.get("event") == "done"]
    res["training"][r] = {"epochs": len(ep), "test_acc": done[-1]["test_acc"] if done else None,
                          "seconds_per_epoch": round(sum(e["seconds"] for e in ep) / len(ep), 2) if ep else None}
res["service"] = [l for l in text("service").splitlines() if l.startswith(("submitted", "state", "devices"))]
json.dump(res, open(os.path.join(out, "results.json"), "w"), indent=1)
md = ["# gpu-verify", "", "| step | result | s |", "|---|---|---|"]
md += [f"| {n} | {s} | {t} |" for n, s, t in steps]
md += ["", "## Speed (training images/s, fp32)", "", "| model | batch | Kiln | PyTorch eager | Kiln/eager | PyTorch graph | Kiln/graph |", "|---|---|---|---|---|---|---|"]
for r in res["speed"]:
    md.append(f"| {r['model']} | {r['batch']} | {r['kiln_img_per_s']} | {r.get('torch_eager', '-')} | {r.get('ratio_eager', '-')} | {r.get('torch_graph', '-')} | {r.get('ratio_graph', '-')} |")
md += ["", "## Training (Fashion-MNIST subset of the bundle)", ""]
md += [f"- {r}: {v['epochs']} epochs, test accuracy {v['test_acc']}, {v['seconds_per_epoch']} s/epoch" for r, v in res["training"].items()]
md += ["", f"gpu-check fp32: {res['gpu_check_fp32']['summary']}, tf32: {res['gpu_check_tf32']['summary']}"]
md += ["", "Failed: " + (", ".join(res["failed"]) if res["failed"] else "none")]
open(os.path.join(out, "summary.md"), "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
rm -f "$out"/.*.out
if [ ${#failed[@]} -gt 0 ]; then
  echo "gpu-verify: failed steps: ${failed[*]}" >&2
  exit 1
fi
exit 0
