#!/usr/bin/env python3
"""PyTorch's training-step throughput for the five models of Kiln's `bench` command, beside Kiln's own.

Same models, batch sizes and optimizer (SGD, lr 0.01, momentum 0.9, softmax cross-entropy) as
engine/.../bench/BenchModels.java; synthetic data already on the device; fp32 with TF32 off. On CUDA each model
is timed eagerly and with the whole step captured as a CUDA graph. Prints one JSON object per model and mode:
{"model", "batch", "mode": "eager"|"graph", "img_per_s", "device", "torch"}.

    python3 bench/torch_bench.py [--device cuda|cpu] [--seconds S] [--models mlp,mlp512,cnn,vgg11,resnet20]
"""
import argparse
import json
import sys
import time

import torch
from torch import nn

BATCH = {"mlp": 100, "mlp512": 128, "cnn": 64, "vgg11": 128, "resnet20": 128}


def mlp(hidden):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10)), (1, 28, 28)


def mnist_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10)), (1, 28, 28)


def vgg11():
    layers, c = [], 3
    for v in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU()]
            c = v
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 10)), (3, 32, 32)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                               nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return torch.relu(self.a(x) + self.skip(x))


def resnet20():
    layers, c = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for cout, stride in [(16, 1), (32, 2), (64, 2)]:
        for i in range(3):
            layers.append(Block(c, cout, stride if i == 0 else 1))
            c = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)), (3, 32, 32)


MODELS = {"mlp": lambda: mlp(100), "mlp512": lambda: mlp(512), "cnn": mnist_cnn, "vgg11": vgg11,
          "resnet20": resnet20}


def measure(name, device, seconds, graph):
    torch.manual_seed(0)
    model, shape = MODELS[name]()
    model = model.to(device).train()
    batch = BATCH[name]
    x = torch.randn(batch, *shape, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, **({"capturable": True} if graph else {}))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    if graph:
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                step()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            step()
        run = g.replay
    else:
        for _ in range(3):
            step()
        run = step
    sync()
    steps, start = 0, time.perf_counter()
    while True:
        for _ in range(10):
            run()
        steps += 10
        sync()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps * batch / elapsed


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--models", default=",".join(MODELS))
    a = p.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        print("torch_bench: PyTorch sees no CUDA device", file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    for name in a.models.split(","):
        if name not in MODELS:
            print(f"torch_bench: unknown model {name!r}; known: {', '.join(MODELS)}", file=sys.stderr)
            return 2
        for mode in (["eager", "graph"] if a.device == "cuda" else ["eager"]):
            ips = measure(name, a.device, a.seconds, mode == "graph")
            print(json.dumps({"model": name, "batch": BATCH[name], "mode": mode, "img_per_s": round(ips, 1),
                              "device": a.device, "torch": torch.__version__}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
