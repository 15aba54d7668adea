#!/usr/bin/env bash
# The test command: sets up what the tests need, then lint, format check, type check and tests.
#   - .venv with the project installed (scripts/venv.sh)
#   - Docker Engine, the registry on 127.0.0.1:5000 and the base image (scripts/infra.sh up),
#     started only when missing and stopped again at the end if this script started them
# Extra arguments go to pytest (e.g. bash scripts/test.sh -k caching).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=$(bash scripts/venv.sh)
bin=$(dirname "$python")

export SCAFFOLD_INFRA_PIDS=""
trap 'bash scripts/infra.sh down' EXIT
infra_env=$(bash scripts/infra.sh up)  # a failing `up` stops here (set -e), not hidden inside eval
eval "$infra_env"

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
