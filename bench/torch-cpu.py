#!/usr/bin/python3
"""PyTorch on the CPU: training-step throughput of the five models of `bench` (engine/.../bench/BenchModels.java).

The same networks, batch sizes and step as Kiln's `bench`: synthetic data already in memory, forward,
softmax cross-entropy, backward and SGD with momentum 0.9 (lr 0.01), a warm-up, then steps for a fixed time.
Prints one JSON object per model (model, batch, img_per_s, steps, peak_rss_mb, threads, torch).

Usage: /usr/bin/python3 bench/torch-cpu.py [--models mlp,mlp512,cnn,vgg11,resnet20] [--seconds 10]
                                           [--threads N (default: the usable cores)]
Each model runs in its own child process, so that the peak resident set (ru_maxrss) is that model's own.
Needs Debian's python3-torch with libopenblas0-pthread (the reference BLAS would make PyTorch unfairly slow).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

NAMES = ["mlp", "mlp512", "cnn", "vgg11", "resnet20"]
BATCH = {"mlp": 100, "mlp512": 128, "cnn": 64, "vgg11": 128, "resnet20": 128}


def build(name):
    import torch.nn as nn

    if name in ("mlp", "mlp512"):
        hidden = 100 if name == "mlp" else 512
        return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10)), (1, 28, 28)
    if name == "cnn":  # PyTorch's MNIST example network, as Kiln's bench "cnn"
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(128, 10)), (1, 28, 28)
    if name == "vgg11":  # Kiln's preset vgg11: conv3x3 (no bias) + BN + ReLU, max pools, one dense layer
        layers, c = [], 3
        for p in [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0]:
            if p == 0:
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c, p, 3, padding=1, bias=False), nn.BatchNorm2d(p), nn.ReLU()]
                c = p
        return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 10)), (3, 32, 32)
    if name == "resnet20":
        return resnet20(), (3, 32, 32)
    raise SystemExit("unknown model %r; known: %s" % (name, NAMES))


def resnet20():
    """Kiln's preset resnet20: basic blocks with a 1x1 convolution + BN shortcut where the shape changes."""
    import torch.nn as nn

    class Block(nn.Module):
        def __init__(self, cin, planes, stride):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(cin, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(),
                nn.Conv2d(planes, planes, 3, 1, 1, bias=False), nn.BatchNorm2d(planes))
            self.shortcut = nn.Sequential() if stride == 1 and cin == planes else nn.Sequential(
                nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.body(x) + self.shortcut(x))

    layers, c = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for stage in range(3):
        width = 16 << stage
        for block in range(3):
            layers.append(Block(c, width, 2 if stage > 0 and block == 0 else 1))
            c = width
    layers += [nn.AvgPool2d(8), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def run_one(name, seconds, threads):
    import torch

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(1)
    model, shape = build(name)
    batch = BATCH[name]
    model.train()
    x = torch.rand(batch, *shape)
    y = torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    warm_end = time.perf_counter() + min(seconds / 4, 5)
    warm = 0
    while time.perf_counter() < warm_end or warm < 2:
        step()
        warm += 1
    start = time.perf_counter()
    steps = 0
    while time.perf_counter() < start + seconds or steps < 2:
        step()
        steps += 1
    elapsed = time.perf_counter() - start
    # ru_maxrss is in KiB on Linux
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"model": name, "batch": batch, "img_per_s": round(steps * batch / elapsed, 1),
                      "steps": steps, "peak_rss_mb": round(rss_mb, 1), "threads": torch.get_num_threads(),
                      "torch": torch.__version__}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(NAMES))
    ap.add_argument("--seconds", type=float, default=10.0)
    # Kiln's CPU backend uses every core it may run on; Debian's PyTorch (libgomp) was seen starting with one
    # thread on a 2-core VM, so the thread count is set explicitly to the same.
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="torch.set_num_threads (default: the cores this process may run on, as Kiln)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.seconds <= 0:
        raise SystemExit("--seconds must be > 0")
    if a.child:
        run_one(a.child, a.seconds, a.threads)
        return
    models = [m for m in a.models.split(",") if m]
    for m in models:
        if m not in NAMES:
            raise SystemExit("unknown model %r; known: %s" % (m, NAMES))
    for m in models:
        rc = subprocess.call([sys.executable, os.path.abspath(__file__), "--child", m,
                              "--seconds", str(a.seconds), "--threads", str(a.threads)])
        if rc != 0:
            raise SystemExit("model %s failed with exit status %d" % (m, rc))


if __name__ == "__main__":
    main()
