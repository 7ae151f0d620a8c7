#!/usr/bin/env bash
# `npm run kube:up [-- --config FLEET.yaml] [--timeout SECONDS]`: starts a real Kubernetes control
# plane on loopback from the binaries `npm run kube:build` made (.odc/tools/bin): etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, and kwok standing in for the kubelets.
# Creates the simulator's GPU fleet as kwok-managed Nodes (the demo fleet of src/simulator/config.ts,
# or the simulator fleet file given with --config), waits until every node is Ready, and prints the
# admin kubeconfig's path (.odc/kube/kubeconfig).
#
# Storage: the VolumeSnapshot CRDs, snapshot-controller, and a CSI driver (odc-csi-hostpath, ours:
# volumes are directories under .odc/kube/csi/) with the csi-provisioner and csi-snapshotter
# sidecars on its unix socket; the fleet's StorageClasses (by default `standard`, Immediate binding)
# and VolumeSnapshotClasses (`standard-snapshots`) name that driver. Claims bind, snapshots become
# ready, a claim restores from a snapshot.
#
# Everything lives under .odc/kube/: pki/ (a self-made CA and the certificates and keys signed with
# it, kept across runs), *.kubeconfig, etcd/ (the data: every `up` starts from an empty one),
# logs/<component>.log, logs/audit.log (the API server's audit log: requests by ServiceAccounts),
# pids/<component>.pid, cluster.env (ports and URLs), cluster-profile.json (the fleet's profile, to
# register the tier with a development start), csi/ (the CSI driver's socket and data: every `up`
# starts it empty too). Each component listens on a free loopback port. `npm run kube:down` stops exactly the processes listed in pids/.
#
# Already up (every component alive and the API server ready): prints the kubeconfig path and exits.
# Partly up: refuses (run `npm run kube:down` first). When a step fails, the components already
# started are stopped again and the tail of the failing one's log is printed.
#
# Environment: ODC_KUBE_DIR (default <repo>/.odc/kube), ODC_TOOLS_DIR (default <repo>/.odc/tools),
# ODC_KUBE_ADVERTISE_ADDRESS (the API server's advertised address; by default the host's
# primary address, which the "kubernetes" Service's endpoints must be: loopback is refused there),
# KUBECTL (default kubectl). Node is the `node` on PATH (npm scripts put the pinned Node 24 first;
# not npm's $NODE, which is the Node that runs npm).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

FLEET=""
TIMEOUT=180
while [[ $# -gt 0 ]]; do
  case "$1" in
    --config)
      FLEET=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
      shift 2
      ;;
    --config=*)
      FLEET=${1#--config=}
      FLEET=$(cd "$(dirname "$FLEET")" && pwd)/$(basename "$FLEET")
      shift
      ;;
    --timeout)
      TIMEOUT=$2
      shift 2
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "kube:up: unknown argument $1" >&2
      exit 2
      ;;
  esac
done

KUBECTL=${KUBECTL:-kubectl}
NODE=node
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1 # the "kubernetes" Service: the first address of SERVICE_CIDR
NODE_PORTS=30000-32767
POD_CIDR=10.244.0.0/16 # kwok's pod IPs
# The CSI driver's name (odc-csi-hostpath), which the fleet's storage and snapshot classes name.
CSI_DRIVER=hostpath.csi.odc.dev
CSI_DIR=$STATE/csi
CSI_SOCKET=$CSI_DIR/csi.sock

log() { printf 'kube:up: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

for name in "${COMPONENTS[@]}"; do
  [[ -x $BIN/$name ]] || die "$BIN/$name is missing: run \`npm run kube:build\` first"
done
[[ -f $KWOK_STAGES ]] || die "$KWOK_STAGES is missing: run \`npm run kube:build\` first"
[[ -f $SNAPSHOT_CRDS ]] || die "$SNAPSHOT_CRDS is missing: run \`npm run kube:build\` first"
command -v "$KUBECTL" >/dev/null || die "needs kubectl on PATH (or KUBECTL=/path/to/kubectl)"
command -v openssl >/dev/null || die "needs openssl on PATH"
command -v curl >/dev/null || die "needs curl on PATH"
[[ -z $FLEET || -f $FLEET ]] || die "no fleet file $FLEET"
[[ -f $ROOT/dist/scripts/kube/fleet.js ]] || die "dist/scripts/kube/fleet.js is missing: run \`npm run build:fast\` (npm run kube:up does)"

mkdir -p "$STATE/pids" "$STATE/logs" "$STATE/pki"

# --- already up? ------------------------------------------------------------------------------

alive=()
for name in "${COMPONENTS[@]}"; do
  if component_pid "$name" >/dev/null; then alive+=("$name"); fi
done
if [[ ${#alive[@]} -eq ${#COMPONENTS[@]} ]] && [[ -f $STATE/cluster.env ]]; then
  # shellcheck disable=SC1091
  source "$STATE/cluster.env"
  if curl -fsS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "$KUBE_API_SERVER/readyz" >/dev/null 2>&1; then
    log "already up ($KUBE_API_SERVER)"
    echo "$KUBECONFIG_PATH"
    exit 0
  fi
fi
if [[ ${#alive[@]} -gt 0 ]]; then
  # (A control plane an older kube:up started has no storage components: this refuses it too.)
  die "partly up (${alive[*]} running): run \`npm run kube:down\` first"
fi

START=$(date +%s.%N)
elapsed() { awk -v a="$START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }

# --- certificates -----------------------------------------------------------------------------

# cert NAME SUBJECT [SUBJECT_ALT_NAMES]: a key and a certificate signed by the CA ($SIGNER, default
# ca), for a client (no SANs) or a server (SANs). Kept across runs; a missing one is made.
cert() {
  local name=$1 subject=$2 sans=${3:-} signer=${SIGNER:-ca}
  [[ -f $PKI/$name.crt && -f $PKI/$name.key ]] && return
  local ext=$PKI/$name.ext
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ -n $sans ]]; then
      echo "extendedKeyUsage=serverAuth"
      echo "subjectAltName=$sans"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$ext"
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subject" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$signer.crt" -CAkey "$PKI/$signer.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}

# ca NAME CN: a self-signed CA. A new CA invalidates everything it signed: those go too.
ca() {
  local name=$1 cn=$2
  [[ -f $PKI/$name.crt && -f $PKI/$name.key ]] && return
  if [[ $name == ca ]]; then
    rm -f "$PKI"/*.crt "$PKI"/*.key "$PKI"/*.srl
  else
    rm -f "$PKI/$name".* "$PKI/${name%-ca}-client".*
  fi
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$PKI/$name.key" -subj "/CN=$cn" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$PKI/$name.crt" 2>/dev/null
}
ca ca odc-kube-ca
# The front proxy's own CA, as kubeadm has it: the request-header authentication the API server
# offers aggregated API servers, and that kube-controller-manager and kube-scheduler look up too.
ca front-proxy-ca odc-kube-front-proxy-ca
cert apiserver "/CN=kube-apiserver" \
  "IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert admin "/O=system:masters/CN=kubernetes-admin"
cert kube-controller-manager "/CN=system:kube-controller-manager"
cert kube-scheduler "/CN=system:kube-scheduler"
# kwok updates the status and lease of every fake node and of their pods: more than the Node
# authorizer lets one node's identity (system:node:<name>) do, so it gets cluster-admin's group.
cert kwok "/O=system:masters/CN=kwok"
# The storage controllers: cluster-admin's group as well (kube:up applies no RBAC of theirs), each
# under its own name (the audit log and the API server's logs tell them apart).
for user in snapshot-controller csi-provisioner csi-snapshotter; do cert "$user" "/O=system:masters/CN=$user"; done
SIGNER=front-proxy-ca cert front-proxy-client "/CN=front-proxy-client"
if [[ ! -f $PKI/sa.key || ! -f $PKI/sa.pub ]]; then
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
fi
chmod 600 "$PKI"/*.key

# --- ports, kubeconfigs -----------------------------------------------------------------------

# Free loopback ports, asked of the kernel all at once (then released for the components to take).
read -r ETCD_PORT ETCD_PEER_PORT API_PORT KCM_PORT SCHED_PORT KWOK_PORT < <("$NODE" -e '
  const net = require("node:net");
  const servers = Array.from({ length: 6 }, () => net.createServer());
  let listening = 0;
  for (const s of servers) s.listen(0, "127.0.0.1", () => {
    if (++listening === servers.length) {
      process.stdout.write(servers.map((x) => x.address().port).join(" ") + "\n");
      servers.forEach((x) => x.close());
    }
  });')
API_SERVER=https://127.0.0.1:$API_PORT

# kubeconfig FILE USER: a kubeconfig for the API server with USER's certificate, all embedded.
kubeconfig() {
  local file=$1 user=$2
  cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: odc-kube
    cluster:
      server: $API_SERVER
      certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
  - name: $user
    user:
      client-certificate-data: $(base64 -w0 <"$PKI/$user.crt")
      client-key-data: $(base64 -w0 <"$PKI/$user.key")
contexts:
  - name: odc-kube
    context:
      cluster: odc-kube
      user: $user
current-context: odc-kube
EOF
  chmod 600 "$file.tmp"
  mv -f "$file.tmp" "$file"
}
kubeconfig "$STATE/kubeconfig" admin
for user in kube-controller-manager kube-scheduler kwok snapshot-controller csi-provisioner csi-snapshotter; do
  kubeconfig "$STATE/$user.kubeconfig" "$user"
done

cat >"$STATE/cluster.env" <<EOF
# Written by scripts/kube/up.sh: the running cluster's addresses (source it from bash).
KUBECONFIG_PATH=$STATE/kubeconfig
KUBE_API_SERVER=$API_SERVER
ETCD_ENDPOINT=http://127.0.0.1:$ETCD_PORT
KUBE_CONTROLLER_MANAGER_HEALTHZ=https://127.0.0.1:$KCM_PORT/healthz
KUBE_SCHEDULER_HEALTHZ=https://127.0.0.1:$SCHED_PORT/healthz
KWOK_HEALTHZ=http://127.0.0.1:$KWOK_PORT/healthz
SERVICE_CIDR=$SERVICE_CIDR
KUBE_AUDIT_LOG=$STATE/logs/audit.log
CSI_DRIVER=$CSI_DRIVER
CSI_ENDPOINT=unix://$CSI_SOCKET
EOF

# --- components -------------------------------------------------------------------------------

STARTED=()
on_error() {
  local status=$?
  trap - ERR
  log "failed after $(elapsed); stopping what was started (${STARTED[*]:-nothing})"
  if [[ ${#STARTED[@]} -gt 0 ]]; then bash "$HERE/down.sh" >&2 || true; fi
  exit "$status"
}
trap on_error ERR

# start NAME ARGS...: runs $BIN/NAME in its own session (so that ^C on npm does not reach it and it
# outlives this script), output to logs/NAME.log, pid in pids/NAME.pid.
start() {
  local name=$1
  shift
  : >"$STATE/logs/$name.log"
  setsid "$BIN/$name" "$@" >>"$STATE/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/pids/$name.pid"
  STARTED+=("$name")
}

# wait_for NAME WHAT SECONDS CMD...: polls CMD until it succeeds; fails if NAME exits or time runs out.
wait_for() {
  local name=$1 what=$2 seconds=$3
  shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ! component_pid "$name" >/dev/null; then
      log "$name exited; the end of $STATE/logs/$name.log:"
      tail -n 30 "$STATE/logs/$name.log" >&2
      return 1
    fi
    if [[ $SECONDS -ge $deadline ]]; then
      log "$what: not after ${seconds}s; the end of $STATE/logs/$name.log:"
      tail -n 30 "$STATE/logs/$name.log" >&2
      return 1
    fi
    sleep 0.25
  done
  log "$what ($(elapsed))"
}

admin_curl() { curl -fsS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"; }

# etcd: a fresh, throwaway member (no fsync: the data does not outlive the test run).
rm -rf "$STATE/etcd"
start etcd \
  --name=odc-kube \
  --data-dir="$STATE/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="odc-kube=http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster-state=new \
  --auto-compaction-retention=1 \
  --unsafe-no-fsync=true
wait_for etcd "etcd ready on 127.0.0.1:$ETCD_PORT" 30 curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health"

advertise=()
if [[ -n ${ODC_KUBE_ADVERTISE_ADDRESS:-} ]]; then
  advertise=(--advertise-address="$ODC_KUBE_ADVERTISE_ADDRESS")
elif ! awk 'NR > 1 && $2 == "00000000" { found = 1 } END { exit !found }' /proc/net/route 2>/dev/null; then
  # No default route: kube-apiserver cannot pick an address of its own. Any non-loopback one does
  # (nothing here reaches the API server through the "kubernetes" Service).
  advertise=(--advertise-address=192.0.2.1)
fi
# The audit log records every request a ServiceAccount outside kube-system makes (who, verb, resource,
# status): what a test learns about a workload's use of its RBAC (test/helm/deployer-rbac.spec.ts).
cat >"$STATE/audit-policy.yaml" <<EOF
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    userGroups: ["system:serviceaccounts:kube-system"]
  - level: Metadata
    userGroups: ["system:serviceaccounts"]
  - level: None
EOF
: >"$STATE/logs/audit.log"
# The default admission plugins (NamespaceLifecycle, LimitRanger, ServiceAccount, PodSecurity,
# ResourceQuota, the webhooks, ...) plus NodeRestriction, as kubeadm enables them.
start kube-apiserver \
  --bind-address=127.0.0.1 \
  --secure-port="$API_PORT" \
  "${advertise[@]}" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --tls-cert-file="$PKI/apiserver.crt" \
  --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
  --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User \
  --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
  --proxy-client-key-file="$PKI/front-proxy-client.key" \
  --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NodeRestriction \
  --allow-privileged=true \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" \
  --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --service-node-port-range="$NODE_PORTS" \
  --audit-policy-file="$STATE/audit-policy.yaml" \
  --audit-log-path="$STATE/logs/audit.log" \
  --audit-log-format=json \
  --audit-log-mode=blocking \
  --profiling=false
wait_for kube-apiserver "kube-apiserver ready at $API_SERVER" 90 admin_curl "$API_SERVER/readyz"

k() { "$KUBECTL" --kubeconfig="$STATE/kubeconfig" "$@"; }
# The snapshot CRDs now: they are established by the time the snapshot controllers start.
k create -f "$SNAPSHOT_CRDS" >/dev/null

start kube-controller-manager \
  --kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 \
  --secure-port="$KCM_PORT" \
  --controllers='*' \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$PKI/sa.key" \
  --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" \
  --cluster-signing-key-file="$PKI/ca.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --cluster-name=odc-kube \
  --leader-elect=false \
  --profiling=false
start kube-scheduler \
  --kubeconfig="$STATE/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig="$STATE/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig="$STATE/kube-scheduler.kubeconfig" \
  --bind-address=127.0.0.1 \
  --secure-port="$SCHED_PORT" \
  --leader-elect=false \
  --profiling=false
# kwok reads ~/.kwok/kwok.yaml as well when it exists: HOME points at a directory of its own.
mkdir -p "$STATE/kwok-home"
HOME=$STATE/kwok-home start kwok \
  --kubeconfig="$STATE/kwok.kubeconfig" \
  --config="$KWOK_STAGES" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-lease-duration-seconds=40 \
  --cidr="$POD_CIDR" \
  --server-address="127.0.0.1:$KWOK_PORT"
# Storage: the CSI driver on a unix socket and csi-provisioner on it; once the snapshot CRDs are
# established (they decide at start whether to handle group snapshots), csi-snapshotter and
# snapshot-controller. The driver's data directory is new every run (its volumes belonged to the
# etcd that is gone).
rm -rf "$CSI_DIR"
mkdir -p "$CSI_DIR/data"
start odc-csi-hostpath -endpoint="unix://$CSI_SOCKET" -data-dir="$CSI_DIR/data" -driver-name="$CSI_DRIVER"
# Immediate binding and no topology (docs/kube-tier.md, "Storage"): no CSINode objects needed.
start csi-provisioner \
  --kubeconfig="$STATE/csi-provisioner.kubeconfig" \
  --csi-address="$CSI_SOCKET" \
  --leader-election=false \
  --worker-threads=10
wait_for kube-apiserver "snapshot CRDs established" 30 k wait --for=condition=Established --timeout=5s -f "$SNAPSHOT_CRDS"
start csi-snapshotter \
  --kubeconfig="$STATE/csi-snapshotter.kubeconfig" \
  --csi-address="$CSI_SOCKET" \
  --leader-election=false \
  --worker-threads=10
start snapshot-controller \
  --kubeconfig="$STATE/snapshot-controller.kubeconfig" \
  --leader-election=false \
  --worker-threads=10
wait_for kube-controller-manager "kube-controller-manager healthy" 60 curl -fsSk --max-time 2 "https://127.0.0.1:$KCM_PORT/healthz"
wait_for kube-scheduler "kube-scheduler healthy" 60 curl -fsSk --max-time 2 "https://127.0.0.1:$SCHED_PORT/healthz"
wait_for kwok "kwok healthy" 60 curl -fsS --max-time 2 "http://127.0.0.1:$KWOK_PORT/healthz"

# --- the fleet --------------------------------------------------------------------------------

"$NODE" "$ROOT/dist/scripts/kube/fleet.js" ${FLEET:+--config "$FLEET"} --csi-driver="$CSI_DRIVER" >"$STATE/fleet.yaml"
# The fleet's cluster profile for a development start's deployer (namespace `default`, its default):
# `gpu-dev cluster add … --profile .odc/kube/cluster-profile.json` (docs/kube-tier.md).
"$NODE" "$ROOT/dist/scripts/kube/fleet.js" ${FLEET:+--config "$FLEET"} --profile=default >"$STATE/cluster-profile.json"
# The driver: nothing to attach (no external-attacher runs), no pod info on mount (nothing mounts).
cat >>"$STATE/fleet.yaml" <<EOF
---
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata:
  name: $CSI_DRIVER
spec:
  attachRequired: false
  podInfoOnMount: false
  volumeLifecycleModes: [Persistent]
EOF
k create -f "$STATE/fleet.yaml" >/dev/null
log "fleet created ($(elapsed))"
wait_for kwok "every node Ready" "$TIMEOUT" k wait --for=condition=Ready nodes --all --timeout=5s
# Pods need their namespace's default ServiceAccount (the ServiceAccount admission plugin).
wait_for kube-controller-manager "default ServiceAccount created" 60 k -n default get serviceaccount default
# The storage controllers say when they run (after connecting to the driver and syncing their caches).
log_says() { grep -q "$2" "$STATE/logs/$1.log"; }
wait_for csi-provisioner "csi-provisioner started" 30 log_says csi-provisioner 'Started provisioner controller'
wait_for csi-snapshotter "csi-snapshotter started" 30 log_says csi-snapshotter 'Starting CSI snapshotter'
wait_for snapshot-controller "snapshot-controller started" 30 log_says snapshot-controller 'Starting snapshot controller'

trap - ERR
log "up in $(elapsed): $(k get nodes --no-headers | wc -l) nodes Ready; try: kubectl --kubeconfig $STATE/kubeconfig get nodes"
echo "$STATE/kubeconfig"
