"""PyTorch twin of benches/cnn_train_step.rs: one training step of the
reference CNN at batch 64 (forward, cross-entropy, backward, SGD momentum
0.9, lr 0.01), two threads.

/root/torchvenv/bin/python benches/twins/cnn_train_step.py
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from matmul import bench

torch.set_num_threads(2)


def small_cnn():
    return nn.Sequential(OrderedDict(
        features=nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                               nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        flatten=nn.Flatten(),
        classifier=nn.Sequential(nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))))


def main():
    torch.manual_seed(0)
    model = small_cnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(64, 1, 28, 28)
    y = torch.randint(0, 10, (64,))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    bench("cnn_train_step/batch 64 forward+backward+sgd", step, 0, seconds=10.0, unit=None)


if __name__ == "__main__":
    main()
