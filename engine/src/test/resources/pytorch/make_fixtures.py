#!/usr/bin/env python3
"""Makes the PyTorch fixtures of Kiln's weight-import tests (WeightImportPyTorchTest), with real PyTorch.

    python3 make_fixtures.py              rewrites the small committed fixtures beside this script
    python3 make_fixtures.py --resnet18 DIR
                                          writes a random-initialised, full-size ResNet-18 (not committed: 45 MB)
                                          into DIR; the tests run this when python3 can import torch

Each fixture is a state_dict saved with torch.save (and, for one, also as safetensors), inputs as float32
little-endian, and the logits PyTorch computes for them in evaluation mode, with batch-norm running statistics
that are not the defaults (a few training-mode passes move them, and the affine parameters are random).

torchvision is not needed: the ResNet below is written with torch.nn alone and has torchvision's module names
(conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, fc, ...). Made with Debian's python3-torch 1.13.
"""
import json
import os
import struct
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision.models.resnet.ResNet with BasicBlock, at any base width."""

    def __init__(self, layers, num_classes, width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = width
        for i, blocks in enumerate(layers):
            planes = width << i
            stride = 1 if i == 0 else 2
            stage = []
            for b in range(blocks):
                stage.append(BasicBlock(inplanes, planes, stride if b == 0 else 1))
                inplanes = planes
            setattr(self, "layer%d" % (i + 1), nn.Sequential(*stage))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(inplanes, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def settle_batch_norm(model, shape, passes=3):
    """Random affine parameters and running statistics averaged over a few training-mode passes."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.momentum = None  # a cumulative average over the passes
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.2)
    model.train()
    with torch.no_grad():
        for _ in range(passes):
            model(torch.randn(*shape) * 1.5 + 0.3)
    model.eval()


def write_floats(path, tensor):
    with open(path, "wb") as f:
        f.write(tensor.detach().contiguous().numpy().astype("<f4").tobytes())


def write_safetensors(path, state):
    """The safetensors format written by hand (the package is not in Debian): 8-byte header length, JSON, data."""
    names = {torch.float32: "F32", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name, t in state.items():
        b = t.detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def logits_of(model, x):
    with torch.no_grad():
        return [[float(v) for v in row] for row in model(x)]


def small_fixtures():
    manifest = {}

    torch.manual_seed(18)
    net = ResNet([2, 2, 2, 2], num_classes=5, width=4)
    settle_batch_norm(net, (8, 3, 48, 48))
    x = torch.randn(2, 3, 48, 48)
    state = net.state_dict()
    torch.save(state, os.path.join(HERE, "resnet18_w4.pt"))
    write_safetensors(os.path.join(HERE, "resnet18_w4.safetensors"), state)
    write_floats(os.path.join(HERE, "resnet18_w4.inputs.bin"), x)
    manifest["resnet18_w4"] = {"preset": "resnet18", "options": {"width": 4}, "classes": 5,
                               "input": [3, 48, 48], "batch": 2, "weights": ["resnet18_w4.pt", "resnet18_w4.safetensors"],
                               "inputs": "resnet18_w4.inputs.bin", "logits": logits_of(net, x)}

    # Kiln's preset mlp {"hidden": [16], "batchnorm": true} as an nn.Sequential: flatten, linear without bias,
    # batch norm, relu, linear. One weight is saved as a transposed view, so the file holds a strided tensor.
    torch.manual_seed(20)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
    settle_batch_norm(mlp, (32, 1, 8, 8))
    x = torch.randn(4, 1, 8, 8)
    state = mlp.state_dict()
    state["4.weight"] = state["4.weight"].t().contiguous().t()
    assert not state["4.weight"].is_contiguous()
    torch.save(state, os.path.join(HERE, "mlp_bn.pt"))
    write_floats(os.path.join(HERE, "mlp_bn.inputs.bin"), x)
    manifest["mlp_bn"] = {"preset": "mlp", "options": {"hidden": [16], "batchnorm": True}, "classes": 3,
                          "input": [1, 8, 8], "batch": 4, "weights": ["mlp_bn.pt"], "inputs": "mlp_bn.inputs.bin",
                          "logits": logits_of(mlp, x)}

    with open(os.path.join(HERE, "fixtures.json"), "w") as f:
        json.dump({"torch": torch.__version__, "fixtures": manifest}, f, indent=1)
        f.write("\n")


def full_resnet18(out):
    torch.manual_seed(1818)
    net = ResNet([2, 2, 2, 2], num_classes=1000)
    settle_batch_norm(net, (2, 3, 224, 224), passes=1)
    x = torch.randn(1, 3, 224, 224)
    os.makedirs(out, exist_ok=True)
    torch.save(net.state_dict(), os.path.join(out, "resnet18.pt"))
    write_floats(os.path.join(out, "resnet18.inputs.bin"), x)
    with open(os.path.join(out, "resnet18.json"), "w") as f:
        json.dump({"preset": "resnet18", "classes": 1000, "input": [3, 224, 224], "batch": 1,
                   "logits": logits_of(net, x)}, f)


if __name__ == "__main__":
    torch.set_num_threads(1)
    if len(sys.argv) == 3 and sys.argv[1] == "--resnet18":
        full_resnet18(sys.argv[2])
    elif len(sys.argv) == 1:
        small_fixtures()
    else:
        sys.exit(__doc__)
