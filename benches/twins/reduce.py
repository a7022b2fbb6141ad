"""PyTorch twin of benches/reduce.rs: the same workloads and names,
throughput in elements per second, two threads.

/root/torchvenv/bin/python benches/twins/reduce.py
"""
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
N = 10_000_000


def bench(name, fn, elements, seconds=3.0):
    for _ in range(3):
        fn()
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < 1.0:
        fn()
        n += 1
    iters = max(5, int(n * seconds))
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(iters // 5):
            fn()
        best = min(best, (time.perf_counter() - t0) / (iters // 5))
    print(f"{name:55s} time {best * 1e3:9.4f} ms   {elements / best / 1e6:10.2f} Melem/s")


def cross_entropy_step(x, t):
    F.cross_entropy(x, t).backward()
    x.grad = None


def main():
    a = torch.randn(N)
    m = a.reshape(10_000, 1000)
    with torch.no_grad():
        for name, fn in [
            ("sum", lambda: a.sum()),
            ("sum dim=-1 [10000,1000]", lambda: m.sum(-1)),
            ("sum dim=0 [10000,1000]", lambda: m.sum(0)),
            ("mean", lambda: a.mean()),
            ("max", lambda: a.max()),
            ("max dim=-1 [10000,1000]", lambda: m.max(-1)[0]),
        ]:
            bench(f"10M f32/{name}", fn, N)
        x = torch.randn(4096, 1000)
        for name, fn in [
            ("softmax dim=-1", lambda: x.softmax(-1)),
            ("log_softmax dim=-1", lambda: x.log_softmax(-1)),
            ("softmax dim=0", lambda: x.softmax(0)),
        ]:
            bench(f"[4096,1000] f32/{name}", fn, x.numel())
    for batch, classes in [(64, 10), (4096, 1000)]:
        x = torch.randn(batch, classes)
        leaf = x.clone().requires_grad_(True)
        t = torch.randint(0, classes, (batch,))
        group = f"cross_entropy [{batch},{classes}] f32"
        with torch.no_grad():
            bench(f"{group}/forward", lambda: F.cross_entropy(x, t), x.numel())
        bench(f"{group}/forward+backward", lambda: cross_entropy_step(leaf, t), x.numel())


if __name__ == "__main__":
    main()
