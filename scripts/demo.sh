#!/usr/bin/env bash
# The demo: sets up .venv if needed, then runs `mmoms demo` (extra arguments are passed on).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/env.sh
exec .venv/bin/mmoms demo "$@"
