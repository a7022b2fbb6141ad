#!/usr/bin/env bash
# The project's test command (README's second line; .ci/run calls it).
# Sets up what the tests need — a repo-local Python venv with numpy for the
# NumPy cross-checks — then runs every test, doctest and tutorial block.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FERROGRAD_PYTHON="$(bash scripts/setup-python.sh)"
export FERROGRAD_PYTHON
echo "NumPy cross-checks use: $FERROGRAD_PYTHON ($("$FERROGRAD_PYTHON" -c 'import numpy; print("numpy", numpy.__version__)'))"

cargo test --workspace "$@"
