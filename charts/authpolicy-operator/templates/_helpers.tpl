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
{{- $sa := include "authpolicy.serviceAccountName" $ctx }}
{{- if eq ($md.namespace | default "") "authpolicy-system" }}{{ $_ := set $md "namespace" $ctx.Release.Namespace }}{{ end }}
{{- $_ := set $md "labels" (merge (dict) ($md.labels | default dict) (include "authpolicy.labels" $ctx | fromYaml)) }}
{{- if include "authpolicy.keep" $ctx }}
{{- $_ := set $md "annotations" (merge ($md.annotations | default dict) (dict "helm.sh/resource-policy" "keep")) }}
{{- end }}
{{- range $s := ($obj.subjects | default list) }}
{{- if eq ($s.namespace | default "") "authpolicy-system" }}{{ $_ := set $s "namespace" $ctx.Release.Namespace }}{{ end }}
{{- if and (eq $s.kind "ServiceAccount") (eq $s.name "authpolicy-operator") }}{{ $_ := set $s "name" $sa }}{{ end }}
{{- end }}
---
{{ toYaml $obj }}
{{- end }}

{{/* The ServiceAccount's name: config's (authpolicy-operator) unless serviceAccount.name is set. */}}
{{- define "authpolicy.serviceAccountName" -}}
{{ .Values.serviceAccount.name | default "authpolicy-operator" }}
{{- end }}

{{/*
Non-empty when `helm uninstall` must leave the release's objects in place (helm.sh/resource-policy: keep):
keepOnUninstall, or while this release takes over a Deployment it does not own yet (a kustomize
install, `helm upgrade --install --take-ownership`). Helm adopts object by object and skips on
uninstall what it could not adopt: a takeover that failed on the Deployment must not let an
uninstall delete the RBAC the still-running Deployment uses. The next `helm upgrade`, the
Deployment owned, renders without it. lookup is empty under `helm template` (no cluster).
*/}}
{{- define "authpolicy.keep" -}}
{{- if .Values.keepOnUninstall }}keepOnUninstall
{{- else }}
{{- $d := lookup "apps/v1" "Deployment" .Release.Namespace "authpolicy-operator" }}
{{- if $d }}
{{- $a := $d.metadata.annotations | default dict }}
{{- if not (and (eq (index $a "meta.helm.sh/release-name" | default "") .Release.Name) (eq (index $a "meta.helm.sh/release-namespace" | default "") .Release.Namespace)) }}takeover{{ end }}
{{- end }}
{{- end }}
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
