/**
 * @module pod-env
 * A container's environment as the kubelet builds it: `envFrom` (ConfigMaps and Secrets, with
 * `prefix`), then `env` in order, each `value` expanded against what came before it, each
 * `valueFrom` resolved (Secrets, ConfigMaps, the downward API's fieldRefs). A missing Secret,
 * ConfigMap or key that is not `optional` keeps the container from starting
 * (CreateContainerConfigError), as on a real node.
 */
import type { KubeClient } from '../../../operator/kube/kube-client';
import type { ContainerSpec, EnvVarSpec, PodLike } from './pod-spec';

/** Thrown for the CreateContainerConfigError cases; the kubelet shows it and retries. */
export class ContainerConfigError extends Error {
  override readonly name = 'ContainerConfigError';
}

export interface PodRuntimeFacts { podIP: string; hostIP: string; nodeName: string }

/**
 * Kubernetes' `$(VAR)` expansion (k8s.io/kubernetes third_party/forked/golang/expansion): a
 * defined name is replaced, an undefined one is left as written, `$$` is a literal `$`.
 */
export function expand(text: string, env: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '$' || i + 1 >= text.length) { out += ch; continue; }
    const next = text[i + 1]!;
    if (next === '$') { out += '$'; i++; continue; }
    if (next === '(') {
      const close = text.indexOf(')', i + 2);
      if (close < 0) { out += text.slice(i); break; }
      const name = text.slice(i + 2, close);
      out += Object.prototype.hasOwnProperty.call(env, name) ? env[name] : `$(${name})`;
      i = close;
      continue;
    }
    out += ch;
  }
  return out;
}

export async function resolveEnv(client: KubeClient, pod: PodLike, c: ContainerSpec, facts: PodRuntimeFacts): Promise<Record<string, string>> {
  const ns = pod.metadata.namespace ?? 'default';
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const data = await configMapData(client, ns, from.configMapRef.name, from.configMapRef.optional);
      for (const [k, v] of Object.entries(data)) env[prefix + k] = v;
    }
    if (from.secretRef) {
      const data = await secretData(client, ns, from.secretRef.name, from.secretRef.optional);
      for (const [k, v] of Object.entries(data)) env[prefix + k] = v;
    }
  }
  for (const e of c.env ?? []) {
    const value = e.valueFrom ? await valueFrom(client, pod, e, facts) : expand(e.value ?? '', env);
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}

async function configMapData(client: KubeClient, ns: string, name: string, optional = false): Promise<Record<string, string>> {
  const cm = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });
  if (!cm) {
    if (optional) return {};
    throw new ContainerConfigError(`configmap "${name}" not found`);
  }
  return (cm['data'] ?? {}) as Record<string, string>;
}

async function secretData(client: KubeClient, ns: string, name: string, optional = false): Promise<Record<string, string>> {
  const s = await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name });
  if (!s) {
    if (optional) return {};
    throw new ContainerConfigError(`secret "${name}" not found`);
  }
  const data = (s['data'] ?? {}) as Record<string, string>;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** The downward API fields a container env can name (`fieldRef.fieldPath`). */
function fieldValue(pod: PodLike, path: string, facts: PodRuntimeFacts): string {
  const m = pod.metadata;
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) return (keyed[1] === 'labels' ? m.labels : m.annotations)?.[keyed[2]!] ?? '';
  switch (path) {
    case 'metadata.name': return m.name ?? '';
    case 'metadata.namespace': return m.namespace ?? 'default';
    case 'metadata.uid': return m.uid ?? '';
    case 'spec.nodeName': return facts.nodeName;
    case 'spec.serviceAccountName': return (pod.spec as { serviceAccountName?: string }).serviceAccountName ?? 'default';
    case 'status.podIP': case 'status.podIPs': return facts.podIP;
    case 'status.hostIP': case 'status.hostIPs': return facts.hostIP;
    default: throw new ContainerConfigError(`fieldRef ${path} is not supported by the process kubelet`);
  }
}

async function valueFrom(client: KubeClient, pod: PodLike, e: EnvVarSpec, facts: PodRuntimeFacts): Promise<string | undefined> {
  const ns = pod.metadata.namespace ?? 'default';
  const from = e.valueFrom!;
  if (from.fieldRef) return fieldValue(pod, from.fieldRef.fieldPath, facts);
  if (from.secretKeyRef) {
    const ref = from.secretKeyRef;
    const value = (await secretData(client, ns, ref.name, ref.optional))[ref.key];
    if (value === undefined && !ref.optional) throw new ContainerConfigError(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`);
    return value;
  }
  if (from.configMapKeyRef) {
    const ref = from.configMapKeyRef;
    const value = (await configMapData(client, ns, ref.name, ref.optional))[ref.key];
    if (value === undefined && !ref.optional) throw new ContainerConfigError(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`);
    return value;
  }
  return undefined;
}
