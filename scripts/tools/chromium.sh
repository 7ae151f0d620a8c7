#!/usr/bin/env bash
# Chromium for the browser specs of the peer tier (test/peers/swagger-ui.peer-spec.ts): Debian's
# package, installed once when missing (as root, as CI runs), its path printed. CHROMIUM_PATH
# names another browser instead.
set -euo pipefail
if [[ -n "${CHROMIUM_PATH:-}" ]]; then
  echo "$CHROMIUM_PATH"
  exit 0
fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium (once)" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi
command -v chromium
