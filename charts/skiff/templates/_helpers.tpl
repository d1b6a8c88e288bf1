{{/* The release's name prefix of every object. */}}
{{- define "skiff.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of a component's objects: include "skiff.labels" (list . "apiserver") */}}
{{- define "skiff.labels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: skiff-{{ index . 1 }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $.Release.Service }}
helm.sh/chart: {{ $.Chart.Name }}-{{ $.Chart.Version }}
{{- end -}}

{{/* Selector labels of a component's pods. */}}
{{- define "skiff.selector" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: skiff-{{ index . 1 }}
app.kubernetes.io/instance: {{ $.Release.Name }}
{{- end -}}

{{/* A component's image. */}}
{{- define "skiff.image" -}}
{{- $ := index . 0 -}}
{{ $.Values.image.registry }}/skiff-{{ index . 1 }}:{{ $.Values.image.tag | default $.Chart.AppVersion }}
{{- end -}}

{{/* The apiserver URLs the components use. */}}
{{- define "skiff.endpoints" -}}
{{- if .Values.apiserver.endpoints -}}
{{ join ", " .Values.apiserver.endpoints }}
{{- else -}}
https://{{ include "skiff.fullname" . }}-apiserver.{{ .Release.Namespace }}.svc:{{ .Values.apiserver.service.port }}
{{- end -}}
{{- end -}}

{{/* A component's kubeconfig: include "skiff.kubeconfig" (list . "scheduler") */}}
{{- define "skiff.kubeconfig" -}}
{{- $ := index . 0 -}}
apiVersion: v1
kind: Config
current-context: skiff
clusters:
- name: skiff
  cluster:
    servers: [{{ include "skiff.endpoints" $ }}]
    certificate-authority: /etc/skiff/pki/ca.crt
users:
- name: {{ index . 1 }}
  user:
    client-certificate: /etc/skiff/pki/{{ index . 1 }}.crt
    client-key: /etc/skiff/pki/{{ index . 1 }}.key
contexts:
- name: skiff
  context: {cluster: skiff, user: {{ index . 1 }}}
{{- end -}}

{{/* The config and PKI volumes every component mounts. */}}
{{- define "skiff.volumes" -}}
- name: config
  configMap:
    name: {{ include "skiff.fullname" . }}-config
- name: pki
  secret:
    secretName: {{ .Values.certificates.secretName }}
    defaultMode: 256
{{- end -}}

{{- define "skiff.volumeMounts" -}}
- name: config
  mountPath: /etc/skiff
  readOnly: true
- name: pki
  mountPath: /etc/skiff/pki
  readOnly: true
{{- end -}}

{{/* Pod-level probe of a daemon's health endpoint: include "skiff.probe" (list "/healthz" 10259 "HTTP") */}}
{{- define "skiff.probe" -}}
httpGet:
  path: {{ index . 0 }}
  port: "{{ index . 1 }}"
  host: 127.0.0.1
  scheme: {{ index . 2 }}
periodSeconds: 10
timeoutSeconds: 5
failureThreshold: 3
{{- end -}}
