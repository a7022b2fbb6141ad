"""PyTorch twin of benches/matmul.rs: the same workloads, names and
throughput units (GFLOP/s), two threads.

/root/torchvenv/bin/python benches/twins/matmul.py
"""
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)


def bench(name, fn, work, seconds=3.0, unit="GFLOP/s"):
    """Prints the best mean time of `fn` over five runs, and `work` (FLOPs
    or elements) per second in `unit` (None: time only)."""
    for _ in range(3):
        fn()
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < 1.0:
        fn()
        n += 1
    iters = max(1, int(n * seconds))
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(max(1, iters // 5)):
            fn()
        best = min(best, (time.perf_counter() - t0) / max(1, iters // 5))
    rate = f"   {work / best / 1e9:8.2f} {unit}" if unit else ""
    print(f"{name:48s} time {best * 1e6:10.1f} us{rate}")


def main():
    for n in (256, 512, 1024):
        a, b = torch.randn(n, n), torch.randn(n, n)
        bench(f"matmul/f32 n={n}", lambda: a @ b, 2 * n**3)
        if n == 512:
            bt = b.t()
            bench(f"matmul/f32 n={n} a @ b.t()", lambda: a @ bt, 2 * n**3)
            a64, b64 = a.double(), b.double()
            bench(f"matmul/f64 n={n}", lambda: a64 @ b64, 2 * n**3)
    a, b = torch.randn(64, 64, 64), torch.randn(64, 64, 64)
    bench("matmul/f32 bmm 64x(64x64 @ 64x64)", lambda: torch.bmm(a, b), 2 * 64**4)

    batch, inf, outf = 64, 3136, 128
    x = torch.randn(batch, inf)
    w = torch.randn(outf, inf, requires_grad=True)
    bias = torch.randn(outf, requires_grad=True)
    xg = x.clone().requires_grad_(True)

    def forward():
        with torch.no_grad():
            F.linear(x, w, bias)

    def forward_backward():
        F.linear(xg, w, bias).sum().backward()

    bench("linear 64x3136 -> 128/forward", forward, 2 * batch * inf * outf)
    bench("linear 64x3136 -> 128/forward+backward", forward_backward, 6 * batch * inf * outf)


if __name__ == "__main__":
    main()
