"""PyTorch twin of benches/elementwise.rs: the same workloads and names,
throughput in elements per second (Gelem/s), two threads.

/root/torchvenv/bin/python benches/twins/elementwise.py
"""
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
N = 10_000_000
CHAIN = 100


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
    print(f"{name:45s} time {best * 1e3:9.3f} ms   {elements / best / 1e6:9.2f} Melem/s")


def tanh_chain(x):
    h = x
    for _ in range(CHAIN):
        h = torch.tanh(h * 1.0001 + 0.001) * 1.0
    return h


def main():
    a, b = torch.randn(N), torch.randn(N)
    with torch.no_grad():
        cases = [
            ("add", lambda: a + b),
            ("mul scalar", lambda: a * 2.0),
            ("exp", lambda: torch.exp(a)),
            ("tanh", lambda: torch.tanh(a)),
            ("sigmoid", lambda: torch.sigmoid(a)),
            ("relu", lambda: torch.relu(a)),
            ("gelu", lambda: F.gelu(a)),
            ("gelu tanh", lambda: F.gelu(a, approximate="tanh")),
            ("gt", lambda: a > b),
            ("sum", lambda: a.sum()),
        ]
        for name, fn in cases:
            bench(f"10M f32/{name}", fn, N)
        x = torch.randn(4)
        bench("4-element tanh chain x100/forward", lambda: tanh_chain(x), CHAIN)
    w = torch.randn(4, requires_grad=True)

    def forward_backward():
        tanh_chain(w).sum().backward()
        w.grad = None

    bench("4-element tanh chain x100/forward+backward", forward_backward, CHAIN)


if __name__ == "__main__":
    main()
