"""Prints the mean and median time criterion estimated for each bench of a
group, read from its estimates.json files (criterion's console output shows
only the mean). Used to compare `npy_io` with `numpy_twin.py`, which prints
both, statistic for statistic.

    python3 benches/criterion_medians.py "npy f32 100MB"   # target/ by default
    CARGO_TARGET_DIR=/elsewhere python3 benches/criterion_medians.py "npy f32 100MB"
"""

import json
import os
import sys
from pathlib import Path


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    target = Path(os.environ.get("CARGO_TARGET_DIR", "target"))
    group = target / "criterion" / sys.argv[1]
    if not group.is_dir():
        sys.exit(f"no criterion results in {group}: run the bench first")
    for bench in sorted(p for p in group.iterdir() if (p / "new" / "estimates.json").is_file()):
        estimates = json.loads((bench / "new" / "estimates.json").read_text())
        mean = estimates["mean"]["point_estimate"] / 1e6
        median = estimates["median"]["point_estimate"] / 1e6
        print(f"{bench.name:<40} median {median:8.2f} ms, mean {mean:8.2f} ms")


if __name__ == "__main__":
    main()
