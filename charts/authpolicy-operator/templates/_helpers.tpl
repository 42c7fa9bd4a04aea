{{/* Helm's labels, added to every object next to config/'s. */}}
{{- define "authpolicy.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{/*
One object as config/ defines it, put in the release's namespace where config/
puts it in authpolicy-system (ServiceAccount subjects too), with Helm's labels.
Usage: include "authpolicy.emit" (dict "ctx" $ "obj" $obj)
*/}}
{{- define "authpolicy.emit" -}}
{{- $ctx := .ctx }}
{{- $obj := .obj }}
{{- $md := $obj.metadata }}
{{- if eq ($md.namespace | default "") "authpolicy-system" }}{{ $_ := set $md "namespace" $ctx.Release.Namespace }}{{ end }}
{{- $_ := set $md "labels" (merge (dict) ($md.labels | default dict) (include "authpolicy.labels" $ctx | fromYaml)) }}
{{- range $s := ($obj.subjects | default list) }}
{{- if eq ($s.namespace | default "") "authpolicy-system" }}{{ $_ := set $s "namespace" $ctx.Release.Namespace }}{{ end }}
{{- end }}
---
{{ toYaml $obj }}
{{- end }}

{{/*
Every object of a file under config/ (files/config links to it), emitted as above.
Usage: include "authpolicy.fromConfig" (dict "ctx" $ "file" "rbac/role.yaml")
*/}}
{{- define "authpolicy.fromConfig" -}}
{{- $ctx := .ctx }}
{{- $text := $ctx.Files.Get (printf "files/config/%s" .file) }}
{{- if not $text }}{{ fail (printf "chart file files/config/%s is missing: files/config must link to the repository's config/" .file) }}{{ end }}
{{- range $doc := regexSplit "(?m)^---\\s*$" $text -1 }}
{{- $obj := fromYaml $doc }}
{{- if $obj.kind }}
{{ include "authpolicy.emit" (dict "ctx" $ctx "obj" $obj) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The image reference: by digest when given, else by tag (default appVersion). */}}
{{- define "authpolicy.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
{{- end }}
