/**
 * @module eviction
 * `POST pods/{name}/eviction` (policy/v1 Eviction), as `kubectl drain` and the cluster autoscaler
 * use it: the disruption budgets whose selector matches the pod are checked against the pods they
 * cover now (the real server reads the budget's status, which its disruption controller computes
 * the same way); a budget with no disruption left is 429 TooManyRequests, otherwise the pod is
 * deleted gracefully, exactly as a DELETE would (preStop hooks run through the kubelet).
 * A pod that is not Ready does not count against a budget (unhealthyPodEvictionPolicy
 * IfHealthyBudget, the default). Only `maxUnavailable`/`minAvailable` as integers or percentages.
 */
import type { Api, DeleteOptions } from './api';
import { ApiError, type Status } from './errors';
import { isObject } from './json';
import type { ResourceType } from './registry';
import { matchesLabelSelectorObject } from './selectors';
import type { KubeObject } from './store';

const isReady = (p: KubeObject): boolean => p.metadata.deletionTimestamp === undefined
  && (((p as unknown as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions) ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** An int, or a percentage of `of` (rounded up for maxUnavailable's complement, as the controller does). */
const scaled = (v: unknown, of: number, roundUp: boolean): number | undefined => {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+%$/.test(v)) { const x = (Number(v.slice(0, -1)) / 100) * of; return roundUp ? Math.ceil(x) : Math.floor(x); }
  return undefined;
};

export function evictPod(api: Api, podType: ResourceType, namespace: string, name: string, body: unknown): { status: object } {
  const pod = api.store.get(podType, namespace, name);
  if (!pod) { api.get(podType, namespace, name); throw new Error('unreachable'); } // get throws the usual NotFound
  const pdbType = api.registry.byKind('policy/v1', 'PodDisruptionBudget');
  const pods = api.store.list(podType, namespace);
  if (isReady(pod)) {
    for (const pdb of api.store.list(pdbType, namespace)) {
      const spec = ((pdb as unknown as { spec?: Record<string, unknown> }).spec) ?? {};
      const selector = spec['selector'] as Parameters<typeof matchesLabelSelectorObject>[0];
      if (!matchesLabelSelectorObject(selector, pod.metadata.labels)) continue;
      const covered = pods.filter((p) => matchesLabelSelectorObject(selector, p.metadata.labels));
      const healthy = covered.filter(isReady).length;
      const maxUnavailable = scaled(spec['maxUnavailable'], covered.length, true);
      const minAvailable = scaled(spec['minAvailable'], covered.length, true);
      const desiredHealthy = maxUnavailable !== undefined ? covered.length - maxUnavailable : (minAvailable ?? 0);
      if (healthy - desiredHealthy <= 0) {
        throw new ApiError({
          kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 429, reason: 'TooManyRequests',
          message: 'Cannot evict pod as it would violate the pod\'s disruption budget.',
          details: { causes: [{ reason: 'DisruptionBudget', message: `The disruption budget ${pdb.metadata.name} needs ${desiredHealthy} healthy pods and has ${healthy} currently` }] },
        } as Status);
      }
    }
  }
  const opts = isObject(body) && isObject(body['deleteOptions']) ? body['deleteOptions'] : {};
  const deleteOptions: DeleteOptions = { preconditions: {}, dryRun: false, ...(typeof opts['gracePeriodSeconds'] === 'number' ? { gracePeriodSeconds: opts['gracePeriodSeconds'] } : {}) };
  api.delete(podType, namespace, name, deleteOptions);
  return { status: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } };
}
