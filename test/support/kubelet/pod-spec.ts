/**
 * @module pod-spec
 * The slice of a core/v1 Pod the process kubelet reads, typed at the boundary: the fake API
 * server and the operator both hand over plain JSON, and the kubelet trusts nothing else.
 * Field meanings and defaults are the real kubelet's (k8s.io/api/core/v1).
 */

export interface EnvVarSpec {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

export interface EnvFromSpec {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}

export interface ProbeSpec {
  grpc?: { port: number; service?: string };
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: string };
  tcpSocket?: { port: number | string; host?: string };
  exec?: { command: string[] };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface HandlerSpec {
  exec?: { command: string[] };
  httpGet?: { path?: string; port: number | string; host?: string };
  sleep?: { seconds: number };
}

export interface ContainerPortSpec { name?: string; containerPort: number; protocol?: string }

export interface ContainerSpec {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVarSpec[];
  envFrom?: EnvFromSpec[];
  ports?: ContainerPortSpec[];
  readinessProbe?: ProbeSpec;
  livenessProbe?: ProbeSpec;
  startupProbe?: ProbeSpec;
  lifecycle?: { preStop?: HandlerSpec; postStart?: HandlerSpec };
  volumeMounts?: VolumeMountSpec[];
  /** Only on init containers: `Always` makes it a native sidecar (started before, stopped after the main containers). */
  restartPolicy?: 'Always';
}

export interface VolumeMountSpec { name: string; mountPath: string; readOnly?: boolean }

/** The volume kinds the kubelet mounts: Secrets (as files); an emptyDir is the process's own filesystem. */
export interface VolumeSpec { name: string; secret?: { secretName: string; optional?: boolean }; emptyDir?: Record<string, unknown> }

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export interface PodSpec {
  containers: ContainerSpec[];
  initContainers?: ContainerSpec[];
  volumes?: VolumeSpec[];
  restartPolicy?: RestartPolicy;
  terminationGracePeriodSeconds?: number;
  hostname?: string;
  subdomain?: string;
  nodeName?: string;
  serviceAccountName?: string;
}

/** What the kubelet reads of a pod (the fake's and the operator's object types both fit). */
export interface PodLike {
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionGracePeriodSeconds?: number;
  };
  spec?: unknown;
}

export const podSpec = (pod: PodLike): PodSpec => pod.spec as PodSpec;

/** The grace period of a deletion: the one the DELETE asked for (stored on the pod), else the spec's (default 30 s). */
export const graceSecondsOf = (pod: PodLike): number =>
  pod.metadata.deletionGracePeriodSeconds ?? podSpec(pod).terminationGracePeriodSeconds ?? 30;

/** A probe or hook port: a number, or the name of one of the container's ports. */
export function resolvePort(port: number | string, c: ContainerSpec): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = (c.ports ?? []).find((p) => p.name === port);
  if (!named) throw new Error(`kubelet: container ${c.name} has no port named ${port}`);
  return named.containerPort;
}
