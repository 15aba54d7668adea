#!/usr/bin/env bash
# The test command: sets up what the tests need, then lint, format check, type check and tests.
# Extra arguments go to pytest (e.g. bash scripts/test.sh -k caching).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=$(bash scripts/venv.sh)
bin=$(dirname "$python")

echo "== ruff"
"$bin/ruff" check .
"$bin/ruff" format --check .
echo "== mypy"
"$bin/mypy"
echo "== pytest"
set +e
"$python" -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$status"
