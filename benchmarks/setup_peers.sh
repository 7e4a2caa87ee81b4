#!/usr/bin/env bash
# Create benchmarks/.venv-peers: MLflow (the full package: its SQLite tracking store needs
# SQLAlchemy and Alembic) and this project, installed editable, for side-by-side benchmarks.
# Idempotent: whatever is already installed is skipped, so a second call takes a moment.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venv="$here/.venv-peers"
python="${PYTHON:-python3}"

# True when every named module can be found (without importing it: importing MLflow is slow).
has() {
    "$venv/bin/python" - "$@" <<'PY'
import importlib.util
import sys

sys.exit(0 if all(importlib.util.find_spec(name) for name in sys.argv[1:]) else 1)
PY
}

if [ ! -x "$venv/bin/python" ]; then
    echo "setup_peers: creating $venv" >&2
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
fi

# MLflow comes from samerun's `bench` extra, so pyproject.toml is where its version is pinned;
# psycopg (the `postgres` extra) lets `mlflow server` use the server benchmark's PostgreSQL.
if ! has mlflow sqlalchemy alembic samerun psycopg; then
    echo "setup_peers: installing samerun[bench,postgres] (MLflow, psycopg) into $venv (a minute or two)" >&2
    "$venv/bin/python" -m pip install --quiet -e "$repo[bench,postgres]"
fi

echo "setup_peers: $venv is ready" >&2
