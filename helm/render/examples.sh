#!/usr/bin/env bash
# Renders every example of helm/examples with helm/render (Helm's template engine, no helm binary
# needed) and writes the manifests, or with --check fails when a committed one differs.
# Needs Go and Debian's golang-github-masterminds-sprig-dev and golang-github-ghodss-yaml-dev.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode="${1:-write}"
renderer="$(mktemp -d)/helm-render"
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="${GOCACHE:-$(mktemp -d)}" go build -o "$renderer" ./helm/render

# Each helm/examples/<name>.values.yaml renders to <name>.yaml, in namespace odc-system, with the
# chart its name starts with (odc-deployer…: helm/odc-deployer, else helm/odc) as the release name.
examples=()
for values_file in helm/examples/*.values.yaml; do
  values="$(basename "$values_file")"
  chart=odc
  [[ "$values" == odc-deployer* ]] && chart=odc-deployer
  examples+=("$chart $chart $values ${values%.values.yaml}.yaml")
done
status=0
for example in "${examples[@]}"; do
  read -r chart release values manifest <<<"$example"
  rendered="$(mktemp)"
  {
    echo "# helm template $release helm/$chart -n odc-system -f helm/examples/$values"
    echo "# Rendered by helm/render (npm run helm:examples); test/helm/chart.spec.ts applies it to the"
    echo "# simulated cluster with a server-side dry run, and CI checks it is still what the templates make."
    "$renderer" -chart "helm/$chart" -name "$release" -namespace odc-system -f "helm/examples/$values"
  } >"$rendered"
  if [ "$mode" = "--check" ]; then
    if ! diff -u "helm/examples/$manifest" "$rendered"; then
      echo "helm/examples/$manifest is not what the templates render: run npm run helm:examples" >&2
      status=1
    fi
  else
    mv "$rendered" "helm/examples/$manifest"
  fi
done

# What the charts must refuse to render: a deployer without TLS or without client authentication,
# a control plane without its secrets.
refusals=(
  "odc-deployer|{auth: {tokenSecret: {name: t}}}|tls.secretName"
  "odc-deployer|{tls: {secretName: x}}|needs a way to authenticate the coordinator"
  "odc-deployer|{tls: {secretName: x, allowedClientCNs: [a]}, auth: {tokenSecret: {name: t}}}|needs tls.clientCA.secretName"
  "odc-deployer|{tls: {secretName: x}, auth: {tokenSecret: {name: t}}, serviceAccount: {create: false}}|serviceAccount.name is required"
  "odc|{}|secrets.databaseUrl"
)
if [ "$mode" = "--check" ]; then
  for refusal in "${refusals[@]}"; do
    IFS='|' read -r chart values expected <<<"$refusal"
    file="$(mktemp --suffix=.yaml)"
    echo "$values" >"$file"
    if output="$("$renderer" -chart "helm/$chart" -name "$chart" -namespace odc-system -f "$file" 2>&1)"; then
      echo "helm/$chart rendered with $values; it must refuse" >&2
      status=1
    elif ! grep -qF "$expected" <<<"$output"; then
      echo "helm/$chart refused $values without saying \"$expected\": $output" >&2
      status=1
    fi
  done
fi

# What must render: the control plane with its in-cluster deployer (the subchart, under its alias).
if [ "$mode" = "--check" ]; then
  file="$(mktemp --suffix=.yaml)"
  echo "{secrets: {existingSecret: s}, deployer: {enabled: true, tls: {secretName: x}, auth: {tokenSecret: {name: t}}}}" >"$file"
  if ! output="$("$renderer" -chart helm/odc -name odc -namespace odc-system -f "$file" 2>&1)" ||
    ! grep -qF "# Source: odc/charts/deployer/templates/deployment.yaml" <<<"$output"; then
    echo "helm/odc with deployer.enabled did not render its deployer: $output" >&2
    status=1
  fi
fi
exit "$status"
