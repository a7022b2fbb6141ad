"""PyTorch twin of benches/autograd_overhead.rs: the same 1000-op chain on a
4-element f32 tensor, 2 threads. Prints time per op for each variant.

Run: /path/to/venv-with-torch/bin/python benches/twins/autograd_overhead.py
"""
import time

import torch

torch.set_num_threads(2)
STEPS = 250
OPS = 4 * STEPS


def chain(h):
    for _ in range(STEPS):
        h = torch.tanh(h * 1.0001 + 0.001) * 1.0
    return h


def per_op_ns(fn, reps=200):
    for _ in range(20):
        fn()
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps // 5):
            fn()
        best = min(best, (time.perf_counter() - t) / (reps // 5))
    return best / OPS * 1e9


leaf = torch.tensor([0.1, -0.2, 0.3, 0.4], requires_grad=True)
plain = leaf.detach().clone()


def forward_backward():
    chain(leaf).sum().backward()
    leaf.grad = None


def no_grad():
    with torch.no_grad():
        chain(leaf)


def main():
    print(f"autograd_overhead/forward_backward  {per_op_ns(forward_backward):8.1f} ns/op")
    print(f"autograd_overhead/no_grad           {per_op_ns(no_grad):8.1f} ns/op")
    print(f"autograd_overhead/no_graph_inputs   {per_op_ns(lambda: chain(plain)):8.1f} ns/op")


if __name__ == "__main__":
    main()
