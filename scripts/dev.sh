#!/usr/bin/env bash
# Runs compose-web on this machine: the web server and a worker, together.
#   bash scripts/dev.sh                 # set up, then serve on http://127.0.0.1:8000/
#   PORT=9000 bash scripts/dev.sh       # another port
#   SKIP_SETUP=1 bash scripts/dev.sh    # skip scripts/setup.sh (already done)
# Ctrl-C stops both. Set DATABASE_URL / REDIS_URL (and COMPOSE_SECRETS_KEY) to use PostgreSQL /
# Redis (docs/web.md).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${SKIP_SETUP:-0}" != 1 ]; then
  bash scripts/setup.sh
fi
# shellcheck disable=SC1091
. .venv/bin/activate
export DEBUG="${DEBUG:-1}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
port="${PORT:-8000}"

python manage.py migrate --no-input
# The SmolLM2 example's model: converted once from the packaged GGUF file (about a minute).
python examples/gguf_convert.py --out examples/models/smollm2-135m-instruct
python manage.py bootstrap

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# daphne, refusing an oversized upload before reading it (compose_web/serve.py)
python -m compose_web.serve -b 127.0.0.1 -p "$port" compose_web.asgi:application &
pids+=($!)
python manage.py run_huey &
pids+=($!)

password_file="${COMPOSE_VAR_DIR:-var}/admin-password.txt"
printf '\ncompose-web is running at http://127.0.0.1:%s/\n' "$port"
if [ -f "$password_file" ]; then
  printf 'Log in as admin with the password in %s\n' "$password_file"
else
  printf 'Log in as admin (password from COMPOSE_ADMIN_PASSWORD)\n'
fi
printf 'Ctrl-C stops the web server and the worker.\n\n'

# Stop everything as soon as either process exits.
wait -n
