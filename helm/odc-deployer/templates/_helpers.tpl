{{/* The chart's name, overridable. */}}
{{- define "odc-deployer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object names: the release name, suffixed with the chart's unless it already contains it. */}}
{{- define "odc-deployer.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "odc-deployer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "odc-deployer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: deployer
{{- end }}

{{- define "odc-deployer.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "odc-deployer.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: odc
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The chart binds its RBAC to this account, so it is never silently the namespace's default. */}}
{{- define "odc-deployer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "odc-deployer.fullname" .) }}
{{- else }}
{{- required "serviceAccount.name is required with serviceAccount.create=false (the chart binds the deployer's RBAC to it)" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "odc-deployer.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The Secret holding the server certificate: the cert-manager Certificate's, or the one named. */}}
{{- define "odc-deployer.tlsSecretName" -}}
{{- if .Values.tls.certManager.enabled }}
{{- include "odc-deployer.fullname" . }}-tls
{{- else }}
{{- required "tls.secretName (a kubernetes.io/tls Secret) or tls.certManager.enabled is required: the deployer only serves TLS" .Values.tls.secretName }}
{{- end }}
{{- end }}

{{/* The deployer refuses to serve a non-loopback address with no client authentication at all. */}}
{{- define "odc-deployer.assertAuthentication" -}}
{{- if and (not .Values.tls.clientCA.secretName) (not .Values.auth.tokenSecret.name) }}
{{- fail "set tls.clientCA.secretName (mTLS, recommended) and/or auth.tokenSecret.name: the deployer needs a way to authenticate the coordinator" }}
{{- end }}
{{- if and .Values.tls.allowedClientCNs (not .Values.tls.clientCA.secretName) }}
{{- fail "tls.allowedClientCNs needs tls.clientCA.secretName: client names are read from certificates the client CA signed" }}
{{- end }}
{{- end }}
