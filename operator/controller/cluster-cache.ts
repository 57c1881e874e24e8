/**
 * @module cluster-cache
 * The informers the controller reads from, and typed lookups of one cluster's children in them.
 * Children are found by their labels (`app.kubernetes.io/instance`, `…/component`), the same
 * labels the builders set, so the controller never lists the API server in a reconcile.
 */
import { API_VERSION, KIND, type AdamaCluster } from '../api/v1alpha1/types';
import { names } from '../specs/common';
import type { KubeObject } from '../kube/kube-client';
import type { Informer } from '../runtime/informer';

export const KINDS = {
  cluster: { apiVersion: API_VERSION, kind: KIND },
  statefulSet: { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  deployment: { apiVersion: 'apps/v1', kind: 'Deployment' },
  pdb: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
  pod: { apiVersion: 'v1', kind: 'Pod' },
} as const;

/** Every child carries this; informers of children select on it. */
export const MANAGED_SELECTOR = 'app.kubernetes.io/managed-by=adama-operator';
export const HOST_POD_SELECTOR = `${MANAGED_SELECTOR},app.kubernetes.io/component=host`;

export interface ClusterInformers {
  clusters: Informer[];
  statefulSets: Informer[];
  deployments: Informer[];
  pdbs: Informer[];
  hostPods: Informer[];
}

export interface WorkloadCounts { specReplicas: number; readyReplicas: number; updateRevision?: string }

const find = (informers: Informer[], ns: string, name: string): KubeObject | undefined => {
  for (const i of informers) {
    const o = i.get(ns, name);
    if (o) return o;
  }
  return undefined;
};

const countsOf = (o: KubeObject | undefined): WorkloadCounts | undefined => {
  if (!o) return undefined;
  const spec = o.spec as { replicas?: number } | undefined;
  const status = o.status as { readyReplicas?: number; updateRevision?: string } | undefined;
  return { specReplicas: spec?.replicas ?? 1, readyReplicas: status?.readyReplicas ?? 0, ...(status?.updateRevision ? { updateRevision: status.updateRevision } : {}) };
};

export class ClusterCache {
  constructor(readonly informers: ClusterInformers) {}

  cluster(namespace: string, name: string): AdamaCluster | undefined {
    return find(this.informers.clusters, namespace, name) as AdamaCluster | undefined;
  }

  allClusters(): AdamaCluster[] {
    return this.informers.clusters.flatMap((i) => i.list()) as unknown as AdamaCluster[];
  }

  hostSet(c: AdamaCluster): WorkloadCounts | undefined {
    return countsOf(find(this.informers.statefulSets, c.metadata.namespace, names.hosts(c)));
  }

  deployment(c: AdamaCluster, name: string): WorkloadCounts | undefined {
    return countsOf(find(this.informers.deployments, c.metadata.namespace, name));
  }

  hasPdb(c: AdamaCluster, name: string): boolean {
    return find(this.informers.pdbs, c.metadata.namespace, name) !== undefined;
  }

  hostPods(c: AdamaCluster): KubeObject[] {
    return this.informers.hostPods.flatMap((i) => i.list((p) =>
      p.metadata.namespace === c.metadata.namespace && p.metadata.labels?.['app.kubernetes.io/instance'] === c.metadata.name));
  }

  /** Records what a write returned, so the next pass does not act on the version before it. */
  remember(obj: KubeObject): void {
    const kind = obj.kind;
    const group = kind === KIND ? this.informers.clusters : kind === 'StatefulSet' ? this.informers.statefulSets : kind === 'Pod' ? this.informers.hostPods : [];
    for (const i of group) i.remember(obj);
  }
}
