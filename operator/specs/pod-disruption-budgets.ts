/**
 * @module pod-disruption-budgets
 * At most one pod of a tier down by voluntary disruption. A tier at one replica gets no budget:
 * a PDB there would block node drains forever (the host's preStop drain still protects documents).
 */
import type { AdamaCluster } from '../api/v1alpha1/types';
import { childMeta, names, selectorLabels, type Component } from './common';
import type { PodDisruptionBudget } from './k8s';

export function buildPodDisruptionBudgets(c: AdamaCluster): PodDisruptionBudget[] {
  if (!c.spec.podDisruptionBudgets.enabled) return [];
  const tiers: [Component, string, number][] = [
    ['host', names.hosts(c), c.spec.hosts.replicas],
    ['proxy', names.proxies(c), c.spec.proxies.replicas],
    ['locator', names.locator(c), c.spec.locator.replicas],
  ];
  if (c.spec.archiver.enabled) tiers.push(['archiver', names.archiver(c), c.spec.archiver.replicas]);
  return tiers.filter(([, , replicas]) => replicas > 1).map(([component, name]) => ({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMeta(c, name, component),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(c, component) } },
  }));
}
