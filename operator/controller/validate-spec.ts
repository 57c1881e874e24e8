/**
 * @module validate-spec
 * Rules across fields that the CRD's structural schema cannot say. A violation stops the apply
 * (reported as `InvalidSpec` in conditions and a Warning event) instead of creating pods that
 * would crash-loop.
 */
import type { AdamaCluster } from '../api/v1alpha1/types';

export function specProblems(c: AdamaCluster): string[] {
  const s = c.spec;
  const problems: string[] = [];
  if (s.archiver.enabled && !s.objectStore) problems.push('spec.archiver.enabled needs spec.objectStore (the archiver has nowhere to write)');
  if (s.hosts.minReplicas < 1) problems.push('spec.hosts.minReplicas must be at least 1');
  const ports = [['hosts.port', s.hosts.port], ['proxies.port', s.proxies.port], ['locator.port', s.locator.port]] as [string, number][];
  if (s.gossip.enabled) ports.push(['gossip.port', s.gossip.port]);
  if (s.metrics.enabled) ports.push(['metrics.port', s.metrics.port]);
  if (s.internalTls.mode !== 'insecure') ports.push(['internalTls.healthPort', s.internalTls.healthPort]);
  if (s.internalTls.mode === 'certManager' && !s.internalTls.issuerRef) problems.push('spec.internalTls.mode certManager needs spec.internalTls.issuerRef');
  // Host and proxy pods run the gossip sidecar and metrics beside the main port: they must differ.
  for (const [name, port] of ports) {
    const clash = ports.find(([other, p]) => other !== name && p === port);
    if (clash && name < clash[0]) problems.push(`spec.${name} and spec.${clash[0]} are both ${port}`);
  }
  return problems;
}
