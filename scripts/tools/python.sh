#!/usr/bin/env bash
# Installs the peer tier's Python tools (scripts/tools/requirements.txt, exact versions) into a
# virtualenv under .odc/tools/venv, once per version of that file; prints the venv's bin folder.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.odc/tools/venv"
requirements="$root/scripts/tools/requirements.txt"
stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "python tools: installing $(grep -v '^#' "$requirements" | tr '\n' ' ')into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
  echo "$wanted" > "$stamp"
fi
echo "$venv/bin"
