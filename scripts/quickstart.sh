#!/usr/bin/env bash
# The quickstart: sets up .venv, then runs the split-config example end to end:
#   1. locally: one run, one run with an override, a local sweep through the flyte launcher;
#   2. remotely: a 2-job sweep with hydra/launcher=flyte, images built and pushed to a registry on
#      127.0.0.1:5000, the workflow registered and executed, results back to Hydra. The Flyte admin
#      it talks to is the TEST STAND-IN in tests/flyte_standin (no Flyte cluster runs on this
#      machine): it runs each task's registered container for real on the local Docker engine.
# The Docker engine, the registry and the base image are installed and started when missing
# (scripts/infra.sh), and what this script started is stopped at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=$(bash "$root/scripts/venv.sh")
example="$root/examples/split_config"

echo "== 1. local runs"
cd "$example"
(
  set -x
  "$python" main.py
  "$python" main.py model.learning_rate=0.01
  "$python" main.py -m hydra/launcher=flyte_local model.learning_rate=0.1,0.01
)

echo "== 2. a remote sweep (against the test stand-in for Flyte's admin API)"
export SCAFFOLD_INFRA_PIDS=""
standin_pid=""
standin_log=""
cleanup() {
  if [ -n "$standin_pid" ]; then kill "$standin_pid" 2>/dev/null || true; wait "$standin_pid" 2>/dev/null || true; fi
  if [ -n "$standin_log" ]; then rm -f "$standin_log"; fi
  bash "$root/scripts/infra.sh" down
}
trap cleanup EXIT
infra_env=$(bash "$root/scripts/infra.sh" up)  # a failing `up` stops here (set -e), not hidden inside eval
eval "$infra_env"

standin_log=$(mktemp)
(cd "$root" && exec "$python" -m tests.flyte_standin) >"$standin_log" 2>&1 &
standin_pid=$!
for _ in $(seq 150); do grep -q '^ready ' "$standin_log" && break; sleep 0.2; done
endpoint=$(awk '/^ready /{print $2}' "$standin_log")
[ -n "$endpoint" ] || { cat "$standin_log" >&2; echo "the stand-in did not start" >&2; exit 1; }

(
  set -x
  "$python" main.py -m hydra/launcher=flyte \
    hydra.launcher.endpoint="$endpoint" hydra.launcher.insecure=true \
    hydra.launcher.images.default.registry=localhost:5000 \
    hydra.launcher.images.default.base_image="${SCAFFOLD_BASE_IMAGE:-localbase:bookworm}" \
    model.learning_rate=0.1,0.01
)
