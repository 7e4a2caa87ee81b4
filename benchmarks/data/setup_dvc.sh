#!/usr/bin/env bash
# Create benchmarks/.venv-dvc: DVC (the peer for data versioning) in its own environment.
# Idempotent: a second call only checks that DVC is there.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$here/.venv-dvc"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "setup_dvc: creating $venv" >&2
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
fi

if [ ! -x "$venv/bin/dvc" ]; then
    echo "setup_dvc: installing dvc into $venv (a minute or two)" >&2
    "$venv/bin/python" -m pip install --quiet dvc
fi

echo "setup_dvc: $venv is ready" >&2
