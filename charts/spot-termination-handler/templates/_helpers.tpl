{{/*
Names and labels. With the release named spot-termination-handler (as the docs install it), every
object is named spot-termination-handler, the same as in daemonset.yaml.
*/}}
{{- define "sth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sth.fullname" -}}
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

{{- define "sth.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sth.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The selector: the one label daemonset.yaml selects on, so either can replace the other. */}}
{{- define "sth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sth.name" . }}
{{- end }}

{{/* Labels of every object: the selector, Helm's bookkeeping, then commonLabels. */}}
{{- define "sth.labels" -}}
{{ include "sth.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "sth.annotations" -}}
{{- with .Values.commonAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The port of /healthz, /readyz and /metrics: env.METRICS_PORT, which the probes need. */}}
{{- define "sth.metricsPort" -}}
{{- $raw := .Values.env.METRICS_PORT }}
{{- $port := ternary "9092" (toString $raw) (or (kindIs "invalid" $raw) (eq (toString $raw) "")) }}
{{- if or (eq $port "0") (not (regexMatch "^[0-9]+$" $port)) }}
{{- fail (printf "env.METRICS_PORT=%s: the chart's probes and monitors need /healthz, /readyz and /metrics on a port (1-65535)" $port) }}
{{- end }}
{{- $port }}
{{- end }}

{{- define "sth.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
