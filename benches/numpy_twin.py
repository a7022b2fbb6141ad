"""NumPy's side of benches/npy_io.rs: the same workloads on the same file
($FERROGRAD_BENCH_DIR, default the system temp dir), printed as GB/s
(median of the repeats) and GiB/s (criterion's unit), for comparison with
the throughput criterion prints for benches/npy_io.rs. Both the median and
the mean time are printed: a save now and then waits for the kernel's
writeback (one sample in twenty can take 5x longer, for NumPy and for us),
which moves a mean far more than a median, so compare like with like
(criterion's median is in target/criterion/<group>/<bench>/new/estimates.json).

    .venv/bin/python benches/numpy_twin.py
"""

import os
import statistics
import tempfile
import time

import numpy as np

ROWS, COLS = 5000, 5000
REPEATS = 20


def bench(name, fn, nbytes):
    fn()  # warm-up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    mean = statistics.mean(times)
    rate = nbytes / median
    print(
        f"{name:<40} {rate / 1e9:6.2f} GB/s = {rate / 2**30:5.2f} GiB/s"
        f"  (median {median * 1e3:.1f} ms, mean {mean * 1e3:.1f} ms)"
    )


def main():
    directory = os.environ.get("FERROGRAD_BENCH_DIR", tempfile.gettempdir())
    path = os.path.join(directory, "numpy-twin-100MB.npy")
    archive = os.path.join(directory, "numpy-twin-100MB.npz")
    a = ((np.arange(ROWS * COLS) % 1009) * 0.5).astype(np.float32).reshape(ROWS, COLS)
    print(f"numpy {np.__version__}, file {path}")
    bench("np.save contiguous", lambda: np.save(path, a), a.nbytes)
    bench("np.load contiguous", lambda: np.load(path), a.nbytes)
    bench("np.save transposed (Fortran order)", lambda: np.save(path, a.T), a.nbytes)
    bench("np.load Fortran order", lambda: np.load(path), a.nbytes)
    flipped = a[::-1, ::-1]
    bench("np.save flipped (negative strides)", lambda: np.save(path, flipped), a.nbytes)
    bench("np.savez stored", lambda: np.savez(archive, x=a), a.nbytes)
    bench("np.load npz stored", lambda: np.load(archive)["x"], a.nbytes)
    os.remove(path)
    os.remove(archive)


if __name__ == "__main__":
    main()
