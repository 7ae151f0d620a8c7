#!/usr/bin/env bash
# `npm run kube:down`: stops the processes `npm run kube:up` started (the pids in .odc/kube/pids/,
# checked to still be those programs), newest first: SIGTERM, then SIGKILL after 15 s. Removes
# their pid files and nothing else: logs, certificates, kubeconfigs and etcd's data stay in
# .odc/kube/ for a look afterwards (the next `up` starts etcd empty again).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

log() { printf 'kube:down: %s\n' "$*" >&2; }

stopped=0
for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
  name=${COMPONENTS[i]}
  file=$STATE/pids/$name.pid
  [[ -f $file ]] || continue
  if pid=$(component_pid "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
      component_pid "$name" >/dev/null || break
      sleep 0.25
    done
    if component_pid "$name" >/dev/null; then
      log "$name (pid $pid) still running after 15s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
    log "stopped $name (pid $pid)"
    stopped=$((stopped + 1))
  else
    log "$name: not running (stale $file)"
  fi
  rm -f "$file"
done
[[ $stopped -gt 0 ]] || log "nothing was running"
