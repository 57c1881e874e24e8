/**
 * @module common
 * Names, labels, owner references, security contexts and environment shared by every child
 * object. Children are named `<cluster>-<tier>` so two clusters share a namespace safely.
 */
import { createHash } from 'node:crypto';
import { API_VERSION, KIND, type AdamaCluster, type SecretKeyRef } from '../api/v1alpha1/types';
import type { ChildMeta, ContainerSecurityContext, EnvVar, OwnerReference, PodSecurityContext } from './k8s';

export type Component = 'host' | 'proxy' | 'locator' | 'archiver' | 'gossip' | 'config' | 'migrate';

/** Matches the numeric USER of deploy/Dockerfile. */
export const RUN_AS_ID = 10001;
/** Where the image installs the CLI; the ENTRYPOINT runs it, preStop hooks call it again. */
export const CLI_PATH = '/app/dist/services/cli/main.js';

export const childName = (c: AdamaCluster, suffix: string): string => `${c.metadata.name}-${suffix}`;

/** Every child's name in one place, so builders never disagree about a reference. */
export const names = {
  hosts: (c: AdamaCluster) => childName(c, 'host'),
  proxies: (c: AdamaCluster) => childName(c, 'proxy'),
  locator: (c: AdamaCluster) => childName(c, 'locator'),
  archiver: (c: AdamaCluster) => childName(c, 'archiver'),
  gossipPeers: (c: AdamaCluster) => childName(c, 'gossip'),
  config: (c: AdamaCluster) => childName(c, 'config'),
} as const;

/** The labels selectors use; never change them on a live cluster (selectors are immutable). */
export function selectorLabels(c: AdamaCluster, component: Component): Record<string, string> {
  return { 'app.kubernetes.io/name': 'adama', 'app.kubernetes.io/instance': c.metadata.name, 'app.kubernetes.io/component': component };
}

export function labels(c: AdamaCluster, component: Component): Record<string, string> {
  return { ...selectorLabels(c, component), 'app.kubernetes.io/part-of': 'adama', 'app.kubernetes.io/managed-by': 'adama-operator' };
}

/** Pods that run a gossip sidecar carry this label; the peer Service selects on it. */
export const GOSSIP_LABEL = 'adama.io/gossip';

export function ownerReference(c: AdamaCluster): OwnerReference {
  return { apiVersion: API_VERSION, kind: KIND, name: c.metadata.name, uid: c.metadata.uid, controller: true, blockOwnerDeletion: true };
}

export function childMeta(c: AdamaCluster, name: string, component: Component): ChildMeta {
  return { name, namespace: c.metadata.namespace, labels: labels(c, component), ownerReferences: [ownerReference(c)] };
}

export const podSecurityContext = (): PodSecurityContext => ({
  runAsNonRoot: true, runAsUser: RUN_AS_ID, runAsGroup: RUN_AS_ID, fsGroup: RUN_AS_ID, seccompProfile: { type: 'RuntimeDefault' },
});

export const containerSecurityContext = (): ContainerSecurityContext => ({
  allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] },
});

/** The root filesystem is read-only; Node and the sandbox may still want a scratch /tmp. */
export const TMP_VOLUME = { name: 'tmp', emptyDir: {} as Record<string, never> };
export const TMP_MOUNT = { name: 'tmp', mountPath: '/tmp' };

const fromSecret = (name: string, ref: SecretKeyRef): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } });

// Connection strings reach containers only as Secret references, never as values, and each only
// to the tiers whose command reads it (a setting nobody reads only misleads whoever debugs the pod).

/** `--database-url` of host, proxy, locator and archiver. */
export const databaseEnv = (c: AdamaCluster): EnvVar[] => [fromSecret('ADAMA_DATABASE_URL', c.spec.postgres.secretRef)];
/** `--redis-url` of the proxy (shared rate limits). */
export const redisEnv = (c: AdamaCluster): EnvVar[] => (c.spec.redis ? [fromSecret('ADAMA_REDIS_URL', c.spec.redis.secretRef)] : []);
/** `--object-store` of the host (restores) and the archiver. */
export const objectStoreEnv = (c: AdamaCluster): EnvVar[] => (c.spec.objectStore ? [fromSecret('ADAMA_OBJECT_STORE', c.spec.objectStore.secretRef)] : []);

/** The pod's own name (`metadata.name`), e.g. as a host, proxy or archiver id. */
export const podNameEnv = (name: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
/** The pod's IP (`status.podIP`): what a gossip peer or a proxy can be reached at. */
export const podIpEnv = (name: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });

/**
 * The gRPC address a host advertises: its per-pod DNS name under the headless host Service,
 * stable across restarts unlike the pod IP. `podNameVar` names an env var holding the pod name,
 * expanded by Kubernetes as `$(VAR)` in args; the host and its gossip sidecar must agree on it.
 */
export const hostAdvertisedAddress = (c: AdamaCluster, podNameVar: string): string =>
  `$(${podNameVar}).${names.hosts(c)}.${c.metadata.namespace}.svc:${c.spec.hosts.port}`;

/** User env last, so a tier's `env` can override ours (e.g. ADAMA_DOC_QUEUE_DEPTH). */
export function mergeEnv(ours: EnvVar[], theirs: EnvVar[] | undefined): EnvVar[] {
  const names = new Set((theirs ?? []).map((e) => e.name));
  return [...ours.filter((e) => !names.has(e.name)), ...(theirs ?? [])];
}

export function metricsArgs(c: AdamaCluster): string[] {
  return c.spec.metrics.enabled ? ['--metrics-port', String(c.spec.metrics.port), '--metrics-host', '0.0.0.0'] : [];
}

/** A short digest of anything a pod should restart for (e.g. the ConfigMap data). */
export function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}
