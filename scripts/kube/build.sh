#!/usr/bin/env bash
# `npm run kube:build [-- --force] [NAME...]`: builds the binaries of the real-Kubernetes test tier
# from Go modules (no container images, no release downloads) into .odc/tools/bin/:
#
#   kube-apiserver, kube-controller-manager, kube-scheduler  k8s.io/kubernetes  (wrapper module scripts/kube/k8s)
#   etcd                                                      go.etcd.io/etcd/server/v3 (wrapper module scripts/kube/etcd)
#   kwok                                                      sigs.k8s.io/kwok/cmd/kwok (go install …@version)
#   helm                                                      helm.sh/helm/v4/cmd/helm  (go install …@version)
#   snapshot-controller, csi-snapshotter                      github.com/kubernetes-csi/external-snapshotter/v8
#                                                             (wrapper module scripts/kube/external-snapshotter)
#   csi-provisioner                                           github.com/kubernetes-csi/external-provisioner/v6
#                                                             (wrapper module scripts/kube/external-provisioner)
#   odc-csi-hostpath                                          scripts/kube/csi-hostpath (a CSI driver of ours)
#
# and copies the VolumeSnapshot CRDs of external-snapshotter's client module into
# .odc/tools/share/external-snapshotter/crds.yaml.
#
# Versions live in scripts/kube/versions.env. A binary is rebuilt only when what it is built from
# changes (its version, its wrapper module's go.mod/go.sum/main.go, the Go toolchain, the flags):
# each one keeps a stamp in .odc/tools/stamps/. The Go module and build caches stay where Go keeps
# them by default (GOMODCACHE, GOCACHE), so they outlive a fresh clone on the same machine.
#
# When a version in versions.env no longer matches its wrapper's go.mod, this rewrites the go.mod
# (for Kubernetes: every k8s.io staging module replaced by its matching v0.<minor>.<patch> release;
# for the CSI sidecars: upstream's replace directives, a directory replaced by the published module)
# and runs `go mod tidy`: commit the new go.mod and go.sum with versions.env.
#
# Options: --force rebuilds even when the stamp matches; NAME... builds only those binaries.
# Environment: ODC_TOOLS_DIR (default <repo>/.odc/tools), GOTOOLCHAIN (e.g. go1.27.3 when a pinned
# module needs a newer Go than the one installed).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=versions.env
source "$HERE/versions.env"

TOOLS=${ODC_TOOLS_DIR:-$ROOT/.odc/tools}
BIN=$TOOLS/bin
STAMPS=$TOOLS/stamps
ALL=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok helm
  snapshot-controller csi-snapshotter csi-provisioner odc-csi-hostpath)

FORCE=0
ONLY=()
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "kube:build: unknown option $arg" >&2
      exit 2
      ;;
    *)
      if [[ " ${ALL[*]} " != *" $arg "* ]]; then
        echo "kube:build: unknown binary $arg (one of: ${ALL[*]})" >&2
        exit 2
      fi
      ONLY+=("$arg")
      ;;
  esac
done
[[ ${#ONLY[@]} -gt 0 ]] || ONLY=("${ALL[@]}")

command -v go >/dev/null || {
  echo "kube:build: needs Go (https://go.dev/dl/) on PATH" >&2
  exit 1
}

mkdir -p "$BIN" "$STAMPS"
# One build at a time per tools directory (two terminals, or a test runner racing a human).
if command -v flock >/dev/null; then
  exec 9>"$TOOLS/.build.lock"
  flock 9
fi

export CGO_ENABLED=0
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

log() { printf 'kube:build: %s\n' "$*" >&2; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
sha() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
wanted() { [[ " ${ONLY[*]} " == *" $1 "* ]]; }

# The go.mod of a published module version, from the module cache (downloading it if need be).
upstream_gomod() {
  (cd "$SCRATCH" && GOFLAGS=-mod=mod go mod download -json "$1") | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p'
}

# build NAME KEY CMD...: runs CMD (which must write $SCRATCH/NAME) unless NAME's stamp equals KEY.
build() {
  local name=$1 key=$2
  shift 2
  if [[ $FORCE -eq 0 && -x "$BIN/$name" && -f "$STAMPS/$name" && "$(cat "$STAMPS/$name")" == "$key" ]]; then
    log "$name ${key%%|*}: up to date"
    return
  fi
  log "$name ${key%%|*}: building…"
  local start
  start=$(now)
  rm -f "$SCRATCH/$name"
  "$@"
  mv -f "$SCRATCH/$name" "$BIN/$name"
  printf '%s\n' "$key" >"$STAMPS/$name"
  log "$name ${key%%|*}: built in $(took "$start")"
}

# --- Kubernetes --------------------------------------------------------------------------------

K8S_DIR=$HERE/k8s
K8S_STAGING=v0.${K8S_VERSION#v1.}
K8S_MINOR=${K8S_VERSION#v1.}
K8S_MINOR=${K8S_MINOR%%.*}

# Rewrites scripts/kube/k8s/go.mod when it does not pin K8S_VERSION: requires k8s.io/kubernetes at
# the release and replaces each staging module it requires at v0.0.0 (a path into staging/ upstream,
# which is why `go install k8s.io/kubernetes/cmd/...@version` refuses) by its published release.
k8s_sync_module() {
  if [[ -f $K8S_DIR/go.mod && -f $K8S_DIR/go.sum ]] &&
    grep -qE "^[[:space:]]*(require )?k8s\.io/kubernetes $K8S_VERSION( // indirect)?\$" "$K8S_DIR/go.mod" &&
    grep -qE "=> k8s\.io/api $K8S_STAGING\$" "$K8S_DIR/go.mod"; then
    return
  fi
  log "scripts/kube/k8s/go.mod: pinning k8s.io/kubernetes $K8S_VERSION (staging modules $K8S_STAGING)…"
  local upstream start
  start=$(now)
  upstream=$(upstream_gomod "k8s.io/kubernetes@$K8S_VERSION")
  [[ -n $upstream && -f $upstream ]] || {
    log "cannot download the go.mod of k8s.io/kubernetes@$K8S_VERSION"
    exit 1
  }
  local godir staging
  godir=$(awk '$1 == "go" { print $2; exit }' "$upstream")
  mapfile -t staging < <(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 } $1 == "require" && $2 ~ /^k8s\.io\// && $3 == "v0.0.0" { print $2 }' "$upstream" | sort -u)
  {
    echo "// Builds kube-apiserver, kube-controller-manager and kube-scheduler of k8s.io/kubernetes at one"
    echo "// release (scripts/kube/build.sh). Generated from scripts/kube/versions.env: do not edit by hand."
    echo "module odc.dev/tools/kube/k8s"
    echo
    echo "go $godir"
    # The GODEBUG defaults upstream builds with.
    awk '$1 == "godebug" && $2 != "(" { print; next } $1 == "godebug" { b = 1; print; next } b { print; if ($1 == ")") { b = 0 } }' "$upstream"
    echo
    echo "tool ("
    echo "	k8s.io/kubernetes/cmd/kube-apiserver"
    echo "	k8s.io/kubernetes/cmd/kube-controller-manager"
    echo "	k8s.io/kubernetes/cmd/kube-scheduler"
    echo ")"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    for m in "${staging[@]}"; do printf '\t%s => %s %s\n' "$m" "$m" "$K8S_STAGING"; done
    echo ")"
  } >"$K8S_DIR/go.mod"
  rm -f "$K8S_DIR/go.sum"
  (cd "$K8S_DIR" && go mod tidy)
  log "scripts/kube/k8s/go.mod: ${#staging[@]} staging modules replaced, tidied in $(took "$start") (commit go.mod and go.sum)"
}

k8s_ldflags() {
  local pkg flags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$K8S_MINOR -X $pkg.gitTreeState=clean"
  done
  echo "$flags"
}

k8s_build() {
  local name=$1
  (cd "$K8S_DIR" && go build -buildvcs=false -trimpath -ldflags "$(k8s_ldflags)" -o "$SCRATCH/$name" "k8s.io/kubernetes/cmd/$name")
}

# --- etcd --------------------------------------------------------------------------------------

ETCD_DIR=$HERE/etcd

etcd_sync_module() {
  if [[ -f $ETCD_DIR/go.mod && -f $ETCD_DIR/go.sum ]] &&
    grep -qE "^[[:space:]]*(require )?go\.etcd\.io/etcd/server/v3 $ETCD_VERSION( // indirect)?\$" "$ETCD_DIR/go.mod"; then
    return
  fi
  log "scripts/kube/etcd/go.mod: pinning go.etcd.io/etcd/server/v3 $ETCD_VERSION…"
  local upstream godir m
  upstream=$(upstream_gomod "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
  [[ -n $upstream && -f $upstream ]] || {
    log "cannot download the go.mod of go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    exit 1
  }
  godir=$(awk '$1 == "go" { print $2; exit }' "$upstream")
  {
    echo "// Builds etcd from go.etcd.io/etcd/server/v3 (scripts/kube/build.sh). Generated from"
    echo "// scripts/kube/versions.env: do not edit by hand."
    echo "module odc.dev/tools/kube/etcd"
    echo
    echo "go $godir"
    echo
    echo "require ("
    # The server's sibling modules at the same release (upstream they are replaced by directories).
    for m in server/v3 api/v3 client/pkg/v3 client/v3 pkg/v3; do printf '\tgo.etcd.io/etcd/%s %s\n' "$m" "$ETCD_VERSION"; done
    echo ")"
  } >"$ETCD_DIR/go.mod"
  rm -f "$ETCD_DIR/go.sum"
  (cd "$ETCD_DIR" && go mod tidy)
  log "scripts/kube/etcd/go.mod: tidied (commit go.mod and go.sum)"
}

etcd_build() {
  (cd "$ETCD_DIR" && go build -buildvcs=false -trimpath -ldflags "-s -w" -o "$SCRATCH/etcd" .)
}

# --- kwok, helm (plain `go install module/cmd@version`: no replace directives upstream) ----------

go_install() {
  local name=$1 pkg=$2 ldflags=$3
  mkdir -p "$SCRATCH/gobin"
  (cd "$SCRATCH" && GOBIN="$SCRATCH/gobin" go install -buildvcs=false -trimpath -ldflags "$ldflags" "$pkg")
  mv -f "$SCRATCH/gobin/$(basename "${pkg%@*}")" "$SCRATCH/$name"
}

# kwok's own stages, as kwokctl configures them for a cluster with node leases: nodes become Ready
# and renew their lease, pods become Running/Ready (Job pods then Succeeded), deleted pods go away.
# Copied from the module at KWOK_VERSION into .odc/tools/share/kwok/stages.yaml for scripts/kube/up.sh.
KWOK_STAGES=(
  kustomize/stage/node/fast/node-initialize.yaml
  kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
  kustomize/stage/pod/fast/pod-ready.yaml
  kustomize/stage/pod/fast/pod-complete.yaml
  kustomize/stage/pod/fast/pod-delete.yaml
)
kwok_stages() {
  local out=$TOOLS/share/kwok/stages.yaml key="$KWOK_VERSION|${KWOK_STAGES[*]}"
  if [[ -f $out && -f $STAMPS/kwok-stages && "$(cat "$STAMPS/kwok-stages")" == "$key" ]]; then
    return
  fi
  local dir f
  dir=$(cd "$SCRATCH" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  mkdir -p "$(dirname "$out")"
  for f in "${KWOK_STAGES[@]}"; do
    echo "# sigs.k8s.io/kwok@$KWOK_VERSION $f"
    cat "$dir/$f"
    echo "---"
  done >"$out.tmp"
  mv -f "$out.tmp" "$out"
  printf '%s\n' "$key" >"$STAMPS/kwok-stages"
  log "kwok stages $KWOK_VERSION: written to ${out#"$ROOT"/}"
}

# --- storage: the CSI sidecars, the VolumeSnapshot CRDs, our CSI driver ------------------------

# wrapper_sync DIR MODULE VERSION CMD...: rewrites DIR/go.mod when it does not require MODULE at
# VERSION. `go install MODULE/cmd/...@VERSION` refuses a module whose go.mod has replace directives
# (both sidecars pin their k8s.io modules that way, external-snapshotter also builds its client
# module from ./client): the wrapper requires MODULE, repeats upstream's replace directives (one
# that names a directory becomes the module of that name at VERSION, as the release tags it), copies
# upstream's go and godebug lines and names the commands in a tool block.
wrapper_sync() {
  local dir=$1 module=$2 version=$3
  shift 3
  if [[ -f $dir/go.mod && -f $dir/go.sum ]] &&
    grep -qE "^[[:space:]]*(require )?${module//./\\.} ${version//./\\.}( // indirect)?\$" "$dir/go.mod"; then
    return
  fi
  log "${dir#"$ROOT"/}/go.mod: pinning $module $version…"
  local upstream godir start cmd
  start=$(now)
  upstream=$(upstream_gomod "$module@$version")
  [[ -n $upstream && -f $upstream ]] || {
    log "cannot download the go.mod of $module@$version"
    exit 1
  }
  godir=$(awk '$1 == "go" { print $2; exit }' "$upstream")
  mkdir -p "$dir"
  {
    echo "// Builds ${*/#/cmd/} of $module (scripts/kube/build.sh)."
    echo "// Generated from scripts/kube/versions.env: do not edit by hand."
    echo "module odc.dev/tools/kube/$(basename "$dir")"
    echo
    echo "go $godir"
    awk '$1 == "godebug" && $2 != "(" { print; next } $1 == "godebug" { b = 1; print; next } b { print; if ($1 == ")") { b = 0 } }' "$upstream"
    echo
    echo "tool ("
    for cmd in "$@"; do printf '\t%s/cmd/%s\n' "$module" "$cmd"; done
    echo ")"
    echo
    echo "require $module $version"
    echo
    echo "replace ("
    # "replace A [V] => B [V]" lines and the lines of "replace ( … )" blocks.
    awk -v version="$version" '
      function out(line,   n, f, i, arrow) {
        n = split(line, f, /[ \t]+/)
        for (i = 1; i <= n; i++) if (f[i] == "=>") arrow = i
        if (!arrow) return
        if (f[arrow + 1] ~ /^\.\.?\//) line = f[1] " => " f[1] " " version
        printf "\t%s\n", line
      }
      { sub(/\/\/.*/, ""); sub(/^[ \t]+/, ""); sub(/[ \t]+$/, "") }
      block && $0 == ")" { block = 0; next }
      block && $0 != "" { out($0); next }
      $1 == "replace" && $2 == "(" { block = 1; next }
      $1 == "replace" { sub(/^replace[ \t]+/, ""); out($0) }
    ' "$upstream"
    echo ")"
  } >"$dir/go.mod"
  rm -f "$dir/go.sum"
  (cd "$dir" && go mod tidy)
  log "${dir#"$ROOT"/}/go.mod: tidied in $(took "$start") (commit go.mod and go.sum)"
}

SNAPSHOTTER_DIR=$HERE/external-snapshotter
SNAPSHOTTER_MODULE=github.com/kubernetes-csi/external-snapshotter/v8
PROVISIONER_DIR=$HERE/external-provisioner
PROVISIONER_MODULE=github.com/kubernetes-csi/external-provisioner/v6
CSI_DRIVER_DIR=$HERE/csi-hostpath

# wrapper_build DIR MODULE VERSION NAME: go build MODULE/cmd/NAME in the wrapper module, with the
# release in --version (both sidecars print main.version).
wrapper_build() {
  local dir=$1 module=$2 version=$3 name=$4
  (cd "$dir" && go build -buildvcs=false -trimpath -ldflags "-s -w -X main.version=$version" -o "$SCRATCH/$name" "$module/cmd/$name")
}

csi_driver_build() {
  (cd "$CSI_DRIVER_DIR" && go build -buildvcs=false -trimpath -ldflags "-s -w" -o "$SCRATCH/odc-csi-hostpath" .)
}

# The snapshot CRDs as upstream ships them: every file that client/config/crd/kustomization.yaml of
# github.com/kubernetes-csi/external-snapshotter/client/v8 (the module the controllers are built
# with) lists — VolumeSnapshot, VolumeSnapshotContent, VolumeSnapshotClass and their group
# counterparts, which snapshot-controller otherwise waits 30 s for at start — concatenated into
# .odc/tools/share/external-snapshotter/crds.yaml.
snapshot_crds() {
  local out=$TOOLS/share/external-snapshotter/crds.yaml key="$EXTERNAL_SNAPSHOTTER_VERSION|kustomization"
  if [[ -f $out && -f $STAMPS/snapshot-crds && "$(cat "$STAMPS/snapshot-crds")" == "$key" ]]; then
    return
  fi
  local module=${SNAPSHOTTER_MODULE%/v8}/client/v8 dir f files
  dir=$(cd "$SCRATCH" && GOFLAGS=-mod=mod go mod download -json "$module@$EXTERNAL_SNAPSHOTTER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -n $dir && -d $dir/config/crd ]] || {
    log "cannot download $module@$EXTERNAL_SNAPSHOTTER_VERSION"
    exit 1
  }
  mapfile -t files < <(awk '$1 == "resources:" { r = 1; next } r && $1 == "-" { print $2; next } { r = 0 }' "$dir/config/crd/kustomization.yaml")
  [[ ${#files[@]} -gt 0 ]] || {
    log "no CRDs listed in $module@$EXTERNAL_SNAPSHOTTER_VERSION config/crd/kustomization.yaml"
    exit 1
  }
  mkdir -p "$(dirname "$out")"
  for f in "${files[@]}"; do
    echo "# $module@$EXTERNAL_SNAPSHOTTER_VERSION config/crd/$f"
    cat "$dir/config/crd/$f"
    echo "---"
  done >"$out.tmp"
  mv -f "$out.tmp" "$out"
  printf '%s\n' "$key" >"$STAMPS/snapshot-crds"
  log "snapshot CRDs $EXTERNAL_SNAPSHOTTER_VERSION (${#files[@]}): written to ${out#"$ROOT"/}"
}

# --- main --------------------------------------------------------------------------------------

GOV=$(cd "$SCRATCH" && go env GOVERSION)
if wanted etcd; then
  etcd_sync_module
  build etcd "$ETCD_VERSION|$(cd "$ETCD_DIR" && go env GOVERSION)|$(sha "$ETCD_DIR/go.mod" "$ETCD_DIR/go.sum" "$ETCD_DIR/main.go")" etcd_build
fi
if wanted kube-apiserver || wanted kube-controller-manager || wanted kube-scheduler; then
  k8s_sync_module
  k8s_key="$K8S_VERSION|$(cd "$K8S_DIR" && go env GOVERSION)|$(sha "$K8S_DIR/go.mod" "$K8S_DIR/go.sum")|$(k8s_ldflags | sha256sum | cut -c1-8)"
  for name in kube-apiserver kube-controller-manager kube-scheduler; do
    if wanted "$name"; then build "$name" "$k8s_key" k8s_build "$name"; fi
  done
fi
if wanted kwok; then
  build kwok "$KWOK_VERSION|$GOV" go_install kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "-s -w"
  kwok_stages
fi
if wanted helm; then
  build helm "$HELM_VERSION|$GOV" go_install helm "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" \
    "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
fi
if wanted snapshot-controller || wanted csi-snapshotter; then
  wrapper_sync "$SNAPSHOTTER_DIR" "$SNAPSHOTTER_MODULE" "$EXTERNAL_SNAPSHOTTER_VERSION" snapshot-controller csi-snapshotter
  snap_key="$EXTERNAL_SNAPSHOTTER_VERSION|$(cd "$SNAPSHOTTER_DIR" && go env GOVERSION)|$(sha "$SNAPSHOTTER_DIR/go.mod" "$SNAPSHOTTER_DIR/go.sum")"
  for name in snapshot-controller csi-snapshotter; do
    if wanted "$name"; then
      build "$name" "$snap_key" wrapper_build "$SNAPSHOTTER_DIR" "$SNAPSHOTTER_MODULE" "$EXTERNAL_SNAPSHOTTER_VERSION" "$name"
    fi
  done
  snapshot_crds
fi
if wanted csi-provisioner; then
  wrapper_sync "$PROVISIONER_DIR" "$PROVISIONER_MODULE" "$EXTERNAL_PROVISIONER_VERSION" csi-provisioner
  build csi-provisioner "$EXTERNAL_PROVISIONER_VERSION|$(cd "$PROVISIONER_DIR" && go env GOVERSION)|$(sha "$PROVISIONER_DIR/go.mod" "$PROVISIONER_DIR/go.sum")" \
    wrapper_build "$PROVISIONER_DIR" "$PROVISIONER_MODULE" "$EXTERNAL_PROVISIONER_VERSION" csi-provisioner
fi
if wanted odc-csi-hostpath; then
  build odc-csi-hostpath "scripts/kube/csi-hostpath|$(cd "$CSI_DRIVER_DIR" && go env GOVERSION)|$(sha "$CSI_DRIVER_DIR/go.mod" "$CSI_DRIVER_DIR/go.sum" "$CSI_DRIVER_DIR"/*.go)" csi_driver_build
fi
echo "$BIN"
