# Shared by scripts/kube/up.sh and down.sh (sourced; expects ROOT).
# shellcheck shell=bash

TOOLS=${ODC_TOOLS_DIR:-$ROOT/.odc/tools}
BIN=$TOOLS/bin
KWOK_STAGES=$TOOLS/share/kwok/stages.yaml
SNAPSHOT_CRDS=$TOOLS/share/external-snapshotter/crds.yaml
STATE=${ODC_KUBE_DIR:-$ROOT/.odc/kube}
PKI=$STATE/pki
# In start order; down stops them in reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok
  odc-csi-hostpath csi-provisioner csi-snapshotter snapshot-controller)

# component_pid NAME: prints the pid in pids/NAME.pid and succeeds when that process is alive and
# is still $BIN/NAME (not another program that got the pid after ours exited).
component_pid() {
  local file=$STATE/pids/$1.pid pid exe
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  # A binary rebuilt while running shows as "<path> (deleted)".
  [[ ${exe% (deleted)} == "$BIN/$1" ]] || return 1
  echo "$pid"
}
