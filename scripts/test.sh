#!/usr/bin/env bash
# Sets up a working copy, checks lint, formatting and types, and runs the whole test suite
# twice over the web layer:
#  1. everything on the embedded default (SQLite, Huey on SQLite, no Redis);
#  2. the web integration tests again on PostgreSQL + Redis (started here when down).
# Extra arguments go to both pytest runs (e.g. -x, -k name). Both use two processes
# (pytest-xdist): the machine this suite is sized for has two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --browser
# shellcheck disable=SC1091
. .venv/bin/activate

printf '\n==> lint, format and types (ruff, mypy; configured in pyproject.toml)\n'
ruff check .
ruff format --check .
mypy

export PYTHONHASHSEED=0 TOKENIZERS_PARALLELISM=false
# The real-model examples train too (a few steps each): SmolLM2 needs its one-time
# conversion from the packaged GGUF file (about a minute; kept for later runs).
export COMPOSE_EXAMPLE_TRAINING=1
python examples/gguf_convert.py --out examples/models/smollm2-135m-instruct
# Keep test runs away from the developer's data.
export COMPOSE_STORAGE_DIR="${COMPOSE_STORAGE_DIR:-$(mktemp -d)}"

printf '\n==> test suite on the embedded default (SQLite, no Redis)\n'
env -u DATABASE_URL -u REDIS_URL python -m pytest -q -n 2 "$@"

printf '\n==> web integration tests on PostgreSQL + Redis\n'
bash scripts/services.sh
# A shared database needs the secrets key set, as on every scale-out machine.
COMPOSE_SECRETS_KEY="${COMPOSE_SECRETS_KEY:-$(python -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')}" \
DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/0 \
  python -m pytest -q -n 2 -m "not browser" tests/web "$@"
