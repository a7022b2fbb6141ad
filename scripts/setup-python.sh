#!/usr/bin/env bash
# Creates the repo-local Python environment the NumPy cross-check tests and
# benches/numpy_twin.py use: `.venv` at the repository root with numpy in it.
# Idempotent and quick when already done. Prints the interpreter's path.
#
#   FERROGRAD_PYTHON="$(scripts/setup-python.sh)" cargo test -p ferrograd-interop
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="$venv/bin/python"

if [ ! -x "$python" ]; then
    python3 -m venv "$venv" >&2
fi
if ! "$python" -c 'import numpy' 2>/dev/null; then
    "$python" -m pip install --quiet --disable-pip-version-check numpy >&2
fi
echo "$python"
