#!/usr/bin/env bash
# Create or update a virtual environment with the pinned dependencies:
#   scripts/env.sh          .venv on Python 3.11, the one everything runs in (override: PYTHON=...)
#   scripts/env.sh 3.13     .venv-3.13 on Python 3.13, for the smoke run (override: PYTHON313=...)
# The interpreter is $PYTHON / $PYTHON313 if set, else python3.X on PATH, else the newest 3.X.N
# that pyenv has. Exits 3 if no such interpreter is found (scripts/test.sh decides what that means).
# Idempotent and quick when nothing changed: a stamp records what was installed.
set -euo pipefail
cd "$(dirname "$0")/.."

want=${1:-3.11}
case "$want" in
  3.11) venv=.venv; override=${PYTHON:-}; override_name=PYTHON ;;
  3.13) venv=.venv-3.13; override=${PYTHON313:-}; override_name=PYTHON313 ;;
  *) echo "usage: scripts/env.sh [3.11|3.13]" >&2; exit 2 ;;
esac

# Runs and is CPython $want? (A pyenv shim for a version that is not selected exists but fails.)
is_wanted() {
  local check="import sys; ok = sys.version_info[:2] == (${want/./, })"
  check+=" and sys.implementation.name == 'cpython'; sys.exit(not ok)"
  "$1" -c "$check" >/dev/null 2>&1 </dev/null
}

find_python() {
  if [ -n "$override" ]; then
    is_wanted "$override" && { echo "$override"; return; }
    echo "$override_name=$override is not a working Python $want" >&2
    return 1
  fi
  local cand
  for cand in "python$want" python3; do
    command -v "$cand" >/dev/null 2>&1 && is_wanted "$cand" && { echo "$cand"; return; }
  done
  # pyenv: the newest 3.X.N it has (not 3.13t, 3.13-dev or a virtualenv); its own folder if the
  # pyenv command is not on PATH.
  local ver="" pattern="^${want//./\\.}\.[0-9]+$" root=${PYENV_ROOT:-$HOME/.pyenv}
  cand=""
  if command -v pyenv >/dev/null 2>&1; then
    ver=$(pyenv versions --bare 2>/dev/null | grep -E "$pattern" | sort -V | tail -n1) || true
    [ -z "$ver" ] || cand=$(PYENV_VERSION=$ver pyenv which "python$want" 2>/dev/null) || cand=""
  elif [ -d "$root/versions" ]; then
    ver=$(cd "$root/versions" && printf '%s\n' * | grep -E "$pattern" | sort -V | tail -n1) || true
    [ -z "$ver" ] || cand=$root/versions/$ver/bin/python$want
  fi
  [ -n "$cand" ] && is_wanted "$cand" && { echo "$cand"; return; }
  return 1
}

if ! PY=$(find_python); then
  echo "Python $want not found: looked at \$$override_name, python$want and python3 on PATH," \
    "and pyenv (set $override_name=/path/to/python$want)" >&2
  exit 3
fi

# Two runs in this checkout at once (shared working tree) take turns instead of both installing.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$venv.lock"
  flock 9
fi

if [ ! -x "$venv/bin/python" ] || ! is_wanted "$venv/bin/python"; then
  echo "creating $venv with $("$PY" --version) ($(command -v "$PY"))"
  "$PY" -m venv --clear "$venv"
fi

stamp=$venv/.mmoms-installed
want_stamp=$({ cat pyproject.toml requirements/constraints.txt; "$venv/bin/python" -VV; } \
  | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want_stamp" ]; then
  echo "installing dependencies into $venv (pinned by requirements/constraints.txt)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c requirements/constraints.txt -e '.[test]'
  echo "$want_stamp" > "$stamp"
fi
