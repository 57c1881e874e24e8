{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "adama.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped name of every object this chart creates. */}}
{{- define "adama.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "adama.selectorLabels" -}}
app.kubernetes.io/name: {{ include "adama.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "adama.labels" -}}
{{ include "adama.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: adama
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "adama.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "adama.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "adama.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Namespaces a namespaced operator watches: the list, or the release namespace. */}}
{{- define "adama.watchNamespaces" -}}
{{- if .Values.rbac.watchNamespaces -}}
{{- join "," .Values.rbac.watchNamespaces -}}
{{- else -}}
{{- .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* The rules the operator needs on AdamaClusters and their children; nothing on Secrets. */}}
{{- define "adama.rules" -}}
- apiGroups: ["adama.io"]
  resources: ["adamaclusters"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["adama.io"]
  resources: ["adamaclusters/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["adama.io"]
  resources: ["adamaclusters/finalizers"]
  verbs: ["update"]
- apiGroups: ["apps"]
  resources: ["statefulsets", "deployments"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["services", "configmaps"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
# The schema migration step: one Job per image, run before the tiers that read the database roll.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "create", "delete"]
# spec.internalTls.mode certManager: one Certificate per role (cert-manager writes the Secrets).
- apiGroups: ["cert-manager.io"]
  resources: ["certificates"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["", "events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}

{{/* The Secret of the operator's certificate, or "" when it has none. */}}
{{- define "adama.operatorTlsSecret" -}}
{{- if .Values.internalTls.secretName -}}
{{- .Values.internalTls.secretName -}}
{{- else if .Values.internalTls.certManager.enabled -}}
{{- printf "%s-operator-tls" (include "adama.fullname" .) -}}
{{- end -}}
{{- end -}}
