#!/usr/bin/env bash
# The quickstart: sets up .venv, then runs the split-config example end to end, locally:
# one run, one run with an override, and a local sweep through the flyte launcher.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=$(bash "$root/scripts/venv.sh")
cd "$root/examples/split_config"
set -x
"$python" main.py
"$python" main.py model.learning_rate=0.01
"$python" main.py -m hydra/launcher=flyte_local model.learning_rate=0.1,0.01
