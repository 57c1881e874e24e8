/**
 * @module k8s
 * The slice of Kubernetes object shapes our builders produce. Hand-written and narrow on purpose:
 * the operator applies these with server-side apply, so only the fields we own appear.
 */

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
  blockOwnerDeletion: boolean;
}

export interface ChildMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences: OwnerReference[];
}

export interface EnvVarSource {
  secretKeyRef?: { name: string; key: string; optional?: boolean };
  configMapKeyRef?: { name: string; key: string; optional?: boolean };
  fieldRef?: { fieldPath: string };
}

export interface EnvVar { name: string; value?: string; valueFrom?: EnvVarSource }

export interface ContainerPort { name: string; containerPort: number; protocol?: 'TCP' | 'UDP' }

export interface VolumeMount { name: string; mountPath: string; readOnly?: boolean }

/** The volume kinds the operator uses: scratch space and Secrets (certificates). */
export type Volume =
  | { name: string; emptyDir: Record<string, never> }
  | { name: string; secret: { secretName: string; defaultMode?: number } };

export interface Probe {
  grpc?: { port: number; service?: string };
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
  initialDelaySeconds?: number;
}

export interface ContainerSecurityContext {
  allowPrivilegeEscalation: false;
  readOnlyRootFilesystem: true;
  runAsNonRoot: true;
  capabilities: { drop: ['ALL'] };
}

export interface Container {
  name: string;
  image: string;
  imagePullPolicy: string;
  args: string[];
  env: EnvVar[];
  envFrom?: { configMapRef: { name: string } }[];
  ports: ContainerPort[];
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop: { exec: { command: string[] } } };
  securityContext: ContainerSecurityContext;
  volumeMounts: VolumeMount[];
}

export interface PodSecurityContext {
  runAsNonRoot: true;
  runAsUser: number;
  runAsGroup: number;
  fsGroup: number;
  seccompProfile: { type: 'RuntimeDefault' };
}

export interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: {
    containers: Container[];
    securityContext: PodSecurityContext;
    automountServiceAccountToken: false;
    enableServiceLinks: false;
    terminationGracePeriodSeconds: number;
    imagePullSecrets?: { name: string }[];
    topologySpreadConstraints?: Record<string, unknown>[];
    volumes: Volume[];
  };
}

export interface StatefulSet {
  apiVersion: 'apps/v1';
  kind: 'StatefulSet';
  metadata: ChildMeta;
  spec: {
    replicas: number;
    serviceName: string;
    podManagementPolicy: 'OrderedReady' | 'Parallel';
    updateStrategy: { type: 'OnDelete' };
    selector: { matchLabels: Record<string, string> };
    template: PodTemplate;
  };
}

export interface Deployment {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: ChildMeta;
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    strategy: { type: 'RollingUpdate'; rollingUpdate: { maxUnavailable: number; maxSurge: number } };
    template: PodTemplate;
  };
}

/** batch/v1 Job: the parts we set. The API server adds the selector and the job-name labels. */
export interface Job {
  apiVersion: 'batch/v1';
  kind: 'Job';
  metadata: ChildMeta;
  spec: {
    backoffLimit: number;
    activeDeadlineSeconds: number;
    template: Omit<PodTemplate, 'spec'> & { spec: PodTemplate['spec'] & { restartPolicy: 'Never' | 'OnFailure' } };
  };
}

export interface ServicePort { name: string; port: number; targetPort: string; protocol: 'TCP' | 'UDP' }

export interface Service {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: ChildMeta;
  spec: {
    type: string;
    clusterIP?: 'None';
    publishNotReadyAddresses?: boolean;
    selector: Record<string, string>;
    ports: ServicePort[];
  };
}

export interface PodDisruptionBudget {
  apiVersion: 'policy/v1';
  kind: 'PodDisruptionBudget';
  metadata: ChildMeta;
  spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
}

export interface ConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: ChildMeta;
  data: Record<string, string>;
}

export interface NetworkPolicyPeer {
  podSelector?: { matchLabels: Record<string, string> };
  namespaceSelector?: { matchLabels: Record<string, string> };
}

export interface NetworkPolicyIngressRule {
  /** Absent: from anywhere. */
  from?: NetworkPolicyPeer[];
  ports: { protocol: 'TCP'; port: number }[];
}

export interface NetworkPolicy {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: ChildMeta;
  spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: ['Ingress']; ingress: NetworkPolicyIngressRule[] };
}
