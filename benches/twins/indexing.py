"""PyTorch twin of benches/indexing.rs: the same workloads and names,
throughput in elements of the result per second (Melem/s), two threads.

/root/torchvenv/bin/python benches/twins/indexing.py [name filter]
"""
import sys

import torch
import torch.nn.functional as F

from elementwise import bench  # the shared timing loop of the twins (sets two threads)

torch.set_num_threads(2)


def main(wanted=""):
    torch.manual_seed(0)
    x = torch.randn(4096, 1024)
    parts = [torch.randn(1024, 1024) for _ in range(4)]
    cols = torch.randint(0, 1024, (4096, 256))
    src = torch.randn(4096, 256)
    table = torch.randn(50_000, 128)
    tokens = torch.randint(0, 50_000, (32_768,))
    i0, i1 = torch.randint(0, 4096, (1 << 20,)), torch.randint(0, 1024, (1 << 20,))
    mask = torch.rand(4096, 1024) > 0.5
    rows = torch.randn(1024, 1024)
    images = torch.randn(32, 64, 56, 56)
    cases = [
        ("cat 4x[1024,1024] dim 0", 4096 * 1024, lambda: torch.cat(parts, 0)),
        ("cat 4x[1024,1024] dim 1", 4096 * 1024, lambda: torch.cat(parts, 1)),
        ("gather [4096,1024] dim 1 k=256", 4096 * 256, lambda: x.gather(1, cols)),
        ("scatter_add [4096,1024] dim 1 k=256", 4096 * 1024, lambda: x.scatter_add(1, cols, src)),
        ("index_select [50000,128] 32768 rows", 32_768 * 128, lambda: table.index_select(0, tokens)),
        ("index x[i0, i1] 1M picks", 1 << 20, lambda: x[i0, i1]),
        ("masked_select [4096,1024] half", 4096 * 1024, lambda: x.masked_select(mask)),
        ("nonzero [4096,1024] half", 4096 * 1024, lambda: mask.nonzero()),
        ("masked_fill [4096,1024]", 4096 * 1024, lambda: x.masked_fill(mask, 0.0)),
        ("sort [1024,1024] dim 1", 1024 * 1024, lambda: rows.sort(1)[0]),
        ("topk [1024,1024] k=16", 1024 * 1024, lambda: rows.topk(16, 1)[0]),
        ("pad [32,64,56,56] by 1", 32 * 64 * 58 * 58, lambda: F.pad(images, (1, 1, 1, 1))),
    ]
    with torch.no_grad():
        for name, elements, fn in cases:
            if wanted in name:
                bench(f"indexing f32/{name}", fn, elements)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
