/**
 * @module children
 * Turns the builders' output into server-side applies. Two field managers share the host
 * StatefulSet: `adama-operator` owns everything but `spec.replicas`, `adama-operator-scale` owns
 * only `spec.replicas`. The replica count is decided by the drain plan, not the spec, and with
 * one manager an apply that left the count out would reset it to the default of 1.
 */
import type { AdamaCluster } from '../api/v1alpha1/types';
import type { KubeClient, KubeObject } from '../kube/kube-client';
import {
  buildArchiverDeployment, buildCertificates, buildConfigMap, buildHostStatefulSet, buildLocatorDeployment, buildNetworkPolicies, buildPodDisruptionBudgets, buildProxyDeployment,
  buildMigrateJobs, buildServices, names,
} from '../specs';
import { digest } from '../specs/common';

export const FIELD_MANAGER = 'adama-operator';
export const SCALE_FIELD_MANAGER = 'adama-operator-scale';

export interface DesiredChildren {
  /** Applied by FIELD_MANAGER, in dependency order (ConfigMap before the pods that read it). */
  apply: KubeObject[];
  /** Names of optional children that must not exist (archiver off, PDBs of one-replica tiers). */
  absent: { apiVersion: string; kind: string; name: string }[];
  /** Changes whenever any applied object does; lets the controller skip identical re-applies. */
  digest: string;
  /** The schema migration Jobs (created, never applied: a Job's template is immutable). */
  jobs: KubeObject[];
}

/** `children` without the objects `held` says must wait (their digest differs, so a later pass applies them). */
export function withHeld(children: DesiredChildren, held: (o: KubeObject) => boolean): DesiredChildren {
  const apply = children.apply.filter((o) => !held(o));
  return { ...children, apply, digest: digest({ held: true, apply }) };
}

const asKube = (o: unknown): KubeObject => o as KubeObject;

/** Throws when the spec cannot be turned into objects (reported as InvalidSpec). */
export function desiredChildren(c: AdamaCluster): DesiredChildren {
  const hostSet = buildHostStatefulSet(c, 0);
  const { replicas: _owned, ...hostSpec } = hostSet.spec;
  const archiver = buildArchiverDeployment(c);
  const pdbs = buildPodDisruptionBudgets(c);
  const policies = buildNetworkPolicies(c);
  const apply = [
    asKube(buildConfigMap(c)),
    // Before the pods that mount their Secrets (cert-manager writes them; pods wait until then).
    ...buildCertificates(c).map(asKube),
    ...buildServices(c).map(asKube),
    asKube({ ...hostSet, spec: hostSpec }),
    asKube(buildProxyDeployment(c)),
    asKube(buildLocatorDeployment(c)),
    ...(archiver ? [asKube(archiver)] : []),
    ...pdbs.map(asKube),
    ...policies.map(asKube),
  ];
  const absent: DesiredChildren['absent'] = [];
  if (!archiver) absent.push({ apiVersion: 'apps/v1', kind: 'Deployment', name: names.archiver(c) });
  const pdbNames = new Set(pdbs.map((p) => p.metadata.name));
  for (const name of [names.hosts(c), names.proxies(c), names.locator(c), names.archiver(c)]) {
    if (!pdbNames.has(name)) absent.push({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', name });
  }
  const policyNames = new Set(policies.map((p) => p.metadata.name));
  for (const name of [names.hosts(c), names.proxies(c), names.locator(c), names.archiver(c)]) {
    if (!policyNames.has(name)) absent.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', name });
  }
  return { apply, absent, digest: digest(apply), jobs: buildMigrateJobs(c).map(asKube) };
}

/** The apply of the host count alone, by its own field manager. */
export function hostReplicasApply(c: AdamaCluster, replicas: number): KubeObject {
  return { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: names.hosts(c), namespace: c.metadata.namespace }, spec: { replicas } };
}

export async function applyAll(client: KubeClient, objects: readonly KubeObject[]): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const o of objects) out.push(await client.apply(o, FIELD_MANAGER));
  return out;
}
