#!/usr/bin/env bash
# Creates .venv (when missing) and installs the project into it, editable and in compat mode:
# Hydra's plugin scan then finds hydra_plugins/flyte_launcher from any directory, not only the
# project root. Re-installs only when pyproject.toml changed. Prints the venv's python.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
stamp="$venv/.installed-from"
want=$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing scaffold-flyte and its dependencies into $venv ..." >&2
  "$venv/bin/pip" install -q --disable-pip-version-check -e "$root[test,examples]" \
    --config-settings editable_mode=compat 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2) >&2
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
