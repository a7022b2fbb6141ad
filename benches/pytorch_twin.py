"""Runs every PyTorch twin of the criterion benches in benches/ (the same
workloads and names, two threads), so each figure can be compared with
ours from one machine as a ratio.

/root/torchvenv/bin/python benches/pytorch_twin.py [name ...]

Names: matmul conv elementwise reduce indexing autograd_overhead
cnn_train_step (default: all). NumPy's twin of the .npy benches is
benches/numpy_twin.py.
"""
import importlib
import os
import sys

TWINS = ["matmul", "conv", "elementwise", "reduce", "indexing", "autograd_overhead", "cnn_train_step"]


def main():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "twins"))
    for name in sys.argv[1:] or TWINS:
        print(f"== {name}", flush=True)
        importlib.import_module(name).main()


if __name__ == "__main__":
    main()
