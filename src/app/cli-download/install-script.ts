/**
 * `curl -fsSL <server>/cli/install.sh | sh`: puts the CLI this server serves in ~/.local/bin (or
 * $GPU_DEV_BIN) after checking that a Node it runs on is there, then points it at this server.
 * POSIX sh: it runs wherever a user has a shell.
 */
export function installScript(serverUrl: string, minimumNodeMajor: number): string {
  return `#!/bin/sh
# Installs gpu-dev, the ODC CLI, from ${serverUrl}
set -eu
server='${serverUrl}'
bin="\${GPU_DEV_BIN:-$HOME/.local/bin}"

if ! command -v node >/dev/null 2>&1; then
  echo "gpu-dev needs Node.js ${minimumNodeMajor} or later, and there is no node on PATH: install it first (https://nodejs.org)." >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt ${minimumNodeMajor} ]; then
  echo "gpu-dev needs Node.js ${minimumNodeMajor} or later; this node is $(node --version)." >&2
  exit 1
fi

mkdir -p "$bin"
tmp="$bin/.gpu-dev.$$"
if command -v curl >/dev/null 2>&1; then
  curl -fsSL "$server/cli/gpu-dev" -o "$tmp"
elif command -v wget >/dev/null 2>&1; then
  wget -q -O "$tmp" "$server/cli/gpu-dev"
else
  echo "Neither curl nor wget is installed: download $server/cli/gpu-dev yourself." >&2
  exit 1
fi
chmod 755 "$tmp"
mv "$tmp" "$bin/gpu-dev"
"$bin/gpu-dev" setup "$server"
echo "Installed $bin/gpu-dev ($("$bin/gpu-dev" --version))."
case ":$PATH:" in
  *":$bin:"*) ;;
  *) echo "Add $bin to your PATH to run it as gpu-dev." ;;
esac
echo "Next: gpu-dev login"
`;
}
