{{/* The chart's name, overridable. */}}
{{- define "odc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object names: the release name, suffixed with the chart's unless it already contains it. */}}
{{- define "odc.fullname" -}}
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

{{- define "odc.baseLabels" -}}
app.kubernetes.io/name: {{ include "odc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object; a component's objects add app.kubernetes.io/component. */}}
{{- define "odc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "odc.baseLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: odc
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "odc.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "odc.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "odc.fullname" .) }}
{{- end }}

{{/* Without one made by the chart, pods run as the named account, else the namespace's default. */}}
{{- define "odc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "odc.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/*
The pod template of a role group: one image, ODC_ROLES picks the roles. Called with
(dict "root" $ "component" "worker" "roles" "worker" "values" .Values.worker "port" "ops").
The coordinator serves probes on its API port; worker and cron on the ops port.
*/}}
{{- define "odc.podTemplate" -}}
{{- $root := .root }}
{{- $values := .values }}
metadata:
  labels:
    {{- include "odc.baseLabels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
    {{- if eq .port "ops" }}
    odc.dev/ops-port: "true"
    {{- end }}
  annotations:
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    {{- if not $root.Values.secrets.existingSecret }}
    checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
    {{- end }}
    {{- with $values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "odc.serviceAccountName" $root }}
  # The control plane never calls the Kubernetes API: deployers do.
  automountServiceAccountToken: false
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  # SIGTERM returns in-flight jobs to the queue within ODC_SHUTDOWN_TIMEOUT_SECONDS (25 s).
  terminationGracePeriodSeconds: 30
  containers:
    - name: odc
      image: {{ include "odc.image" $root | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      env:
        - name: ODC_ROLES
          value: {{ .roles }}
        {{- if eq .port "ops" }}
        - name: ODC_OPS_PORT
          value: {{ $root.Values.opsPort | quote }}
        {{- end }}
      envFrom:
        - configMapRef:
            name: {{ include "odc.fullname" $root }}
        - secretRef:
            name: {{ include "odc.secretName" $root }}
      ports:
        {{- if eq .port "http" }}
        - name: http
          containerPort: 8080
          protocol: TCP
        {{- else }}
        - name: ops
          containerPort: {{ $root.Values.opsPort }}
          protocol: TCP
        {{- end }}
      startupProbe:
        httpGet:
          path: /livez
          port: {{ .port }}
        periodSeconds: 2
        failureThreshold: 60
      livenessProbe:
        httpGet:
          path: /livez
          port: {{ .port }}
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /readyz
          port: {{ .port }}
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 2
      resources:
        {{- toYaml $values.resources | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
  {{- with $values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
