#!/usr/bin/env bash
# Create (or check) .venv-nautilus: NautilusTrader, pinned, on Python 3.12, in a virtual
# environment of its own — a judge of the simulator (tests/sim/test_clients_nautilus.py) and a
# peer of the benchmarks (bench/peers.py, bench/_nautilus_peer.py), never imported by mmoms.
# One pin for both, so the judge and the figures are about the same release: keep it at the
# newest (`pip index versions nautilus_trader`) and run both when it moves. The interpreter is $PYTHON312 if set, else python3.12 on PATH, else the
# newest 3.12.N that pyenv has. Exits 3 if there is none (the test decides what that means).
# Idempotent and quick when nothing changed: a stamp records what was installed.
set -euo pipefail
cd "$(dirname "$0")/.."

NAUTILUS_VERSION=1.231.0 # the newest on PyPI when this judge was added; needs Python >= 3.12
venv=.venv-nautilus

is_312() {
  "$1" -c "import sys; sys.exit(sys.version_info[:2] != (3, 12))" >/dev/null 2>&1 </dev/null
}

find_python() {
  if [ -n "${PYTHON312:-}" ]; then
    is_312 "$PYTHON312" && { echo "$PYTHON312"; return; }
    echo "PYTHON312=$PYTHON312 is not a working Python 3.12" >&2
    return 1
  fi
  command -v python3.12 >/dev/null 2>&1 && is_312 python3.12 && { echo python3.12; return; }
  local ver="" cand="" root=${PYENV_ROOT:-$HOME/.pyenv}
  if command -v pyenv >/dev/null 2>&1; then
    ver=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12\.[0-9]+$' | sort -V | tail -n1) || true
    [ -z "$ver" ] || cand=$(PYENV_VERSION=$ver pyenv which python3.12 2>/dev/null) || cand=""
  elif [ -d "$root/versions" ]; then
    ver=$(cd "$root/versions" && printf '%s\n' * | grep -E '^3\.12\.[0-9]+$' | sort -V | tail -n1) || true
    [ -z "$ver" ] || cand=$root/versions/$ver/bin/python3.12
  fi
  [ -n "$cand" ] && is_312 "$cand" && { echo "$cand"; return; }
  return 1
}

if ! PY=$(find_python); then
  echo "Python 3.12 not found: looked at \$PYTHON312, python3.12 on PATH and pyenv" >&2
  exit 3
fi

# Two test runs at once take turns instead of both installing.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$venv.lock"
  flock 9
fi

stamp=$venv/.mmoms-installed
want_stamp="nautilus_trader==$NAUTILUS_VERSION $("$PY" -V 2>&1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ] && [ -x "$venv/bin/python" ]; then
  exit 0
fi
echo "creating $venv: nautilus_trader==$NAUTILUS_VERSION on $("$PY" -V 2>&1)"
started=$(date +%s)
"$PY" -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
  "nautilus_trader==$NAUTILUS_VERSION"
echo "$want_stamp" > "$stamp"
echo "$venv ready in $(($(date +%s) - started)) s"
