#!/usr/bin/env bash
# `npm run helm:examples`: renders every example of helm/examples with the real helm (`helm template`)
# and writes the manifests. `npm run helm:check` (--check): fails when a committed manifest is not what
# helm renders now, runs `helm lint --strict` on both charts with every example's values, and checks
# what the charts must refuse and what they must render.
#
# helm is the binary `npm run kube:build -- helm` builds from helm.sh/helm/v4 at the version pinned in
# scripts/kube/versions.env (docs/kube-tier.md); nothing is downloaded here. It runs with homes of its
# own (no repositories, plugins or settings of yours) on a copy of the charts, so the odc chart's
# dependency (`helm dependency update`: the deployer chart, packaged) is never left in helm/odc.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
mode="${1:-write}"
case "$mode" in
  write | --check) ;;
  *)
    echo "usage: $0 [--check]" >&2
    exit 2
    ;;
esac

HELM=${ODC_TOOLS_DIR:-$ROOT/.odc/tools}/bin/helm
# shellcheck source=../kube/versions.env
source "$ROOT/scripts/kube/versions.env"
if [[ ! -x $HELM ]]; then
  echo "helm is not built ($HELM is missing): run \`npm run kube:build -- helm\` (needs Go; docs/kube-tier.md)" >&2
  exit 1
fi
version=$("$HELM" version --template '{{.Version}}')
if [[ $version != "$HELM_VERSION" ]]; then
  echo "$HELM is helm $version, scripts/kube/versions.env pins $HELM_VERSION: run \`npm run kube:build -- helm\`" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HELM_CACHE_HOME=$work/home/cache HELM_CONFIG_HOME=$work/home/config HELM_DATA_HOME=$work/home/data
mkdir -p "$work/charts"
cp -R helm/odc helm/odc-deployer "$work/charts/"
rm -rf "$work/charts/odc/charts" "$work/charts/odc/Chart.lock"
"$HELM" dependency update --skip-refresh "$work/charts/odc" >/dev/null

status=0
fail() {
  echo "$*" >&2
  status=1
}

# Each helm/examples/<name>.values.yaml renders to <name>.yaml, in namespace odc-system, with the
# chart its name starts with (odc-deployer…: helm/odc-deployer, else helm/odc) as the release name
# (test/helm/charts.ts reads them by the same rule).
examples=()
for values_file in helm/examples/*.values.yaml; do
  values="$(basename "$values_file")"
  chart=odc
  [[ "$values" == odc-deployer* ]] && chart=odc-deployer
  examples+=("$chart $values ${values%.values.yaml}.yaml")
done
for example in "${examples[@]}"; do
  read -r chart values manifest <<<"$example"
  rendered="$work/$manifest"
  {
    echo "# helm template $chart helm/$chart -n odc-system -f helm/examples/$values"
    echo "# Rendered by helm $HELM_VERSION (npm run helm:examples); CI checks it is still what helm renders, and"
    echo "# test/helm/chart.spec.ts applies it to the simulated cluster with a server-side dry run."
    "$HELM" template "$chart" "$work/charts/$chart" -n odc-system -f "helm/examples/$values"
  } >"$rendered"
  if [[ $mode == --check ]]; then
    if ! diff -u "helm/examples/$manifest" "$rendered"; then
      fail "helm/examples/$manifest is not what helm renders: run npm run helm:examples"
    fi
  else
    cp "$rendered" "helm/examples/$manifest"
  fi
done
[[ $mode == --check ]] || exit 0

# helm lint --strict: each chart with every example of it, and the control plane with its deployer.
with_deployer="$work/with-deployer.yaml"
echo "{secrets: {existingSecret: s}, deployer: {enabled: true, tls: {secretName: x}, auth: {tokenSecret: {name: t}}}}" >"$with_deployer"
lints=()
for example in "${examples[@]}"; do
  read -r chart values _ <<<"$example"
  lints+=("$chart helm/examples/$values")
done
lints+=("odc $with_deployer")
for lint in "${lints[@]}"; do
  read -r chart values <<<"$lint"
  if ! output="$("$HELM" lint --strict "$work/charts/$chart" -n odc-system -f "$values" 2>&1)"; then
    fail "helm lint --strict helm/$chart -f $values failed:"$'\n'"$output"
  fi
done

# What the charts must refuse to render: a deployer without TLS or without client authentication,
# a control plane without its secrets, values their schemas reject.
refusals=(
  "odc-deployer|{auth: {tokenSecret: {name: t}}}|tls.secretName"
  "odc-deployer|{tls: {secretName: x}}|needs a way to authenticate the coordinator"
  "odc-deployer|{tls: {secretName: x, allowedClientCNs: [a]}, auth: {tokenSecret: {name: t}}}|needs tls.clientCA.secretName"
  "odc-deployer|{tls: {secretName: x}, auth: {tokenSecret: {name: t}}, serviceAccount: {create: false}}|serviceAccount.name is required"
  "odc-deployer|{tls: {secretName: x}, auth: {tokenSecret: {name: t}}, workloadNamespaces: []}|at '/workloadNamespaces': minItems"
  "odc|{}|secrets.databaseUrl"
  "odc|{secrets: {existingSecret: s}, coordinater: {replicas: 2}}|additional properties 'coordinater' not allowed"
)
for refusal in "${refusals[@]}"; do
  IFS='|' read -r chart values expected <<<"$refusal"
  file="$work/refusal.yaml"
  echo "$values" >"$file"
  if output="$("$HELM" template "$chart" "$work/charts/$chart" -n odc-system -f "$file" 2>&1)"; then
    fail "helm/$chart rendered with $values; it must refuse"
  elif ! grep -qF "$expected" <<<"$output"; then
    fail "helm/$chart refused $values without saying \"$expected\": $output"
  fi
done

# What must render: the control plane with its in-cluster deployer (the subchart, under its alias).
if ! output="$("$HELM" template odc "$work/charts/odc" -n odc-system -f "$with_deployer" 2>&1)" ||
  ! grep -qF "# Source: odc/charts/deployer/templates/deployment.yaml" <<<"$output"; then
  fail "helm/odc with deployer.enabled did not render its deployer: $output"
fi

if [[ $status == 0 ]]; then
  echo "helm $HELM_VERSION: ${#examples[@]} examples render as committed, ${#lints[@]} lints and ${#refusals[@]} refusals pass"
fi
exit "$status"
