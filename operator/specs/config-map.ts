/**
 * @module config-map
 * Non-secret settings every pod reads through `envFrom`. Its digest is a pod-template annotation,
 * so a change rolls proxies (Deployment) and is seen by the host roll (OnDelete, operator-driven).
 */
import type { AdamaCluster } from '../api/v1alpha1/types';
import { childMeta, digest, names } from './common';
import type { ConfigMap } from './k8s';

export function buildConfigMap(c: AdamaCluster): ConfigMap {
  const ns = c.metadata.namespace;
  const data: Record<string, string> = {
    ADAMA_LOG_LEVEL: c.spec.logLevel,
    // SIGTERM runs the same drain as the operator, with the same budget.
    ADAMA_SHUTDOWN_GRACE_MS: String(c.spec.hosts.drain.timeoutSeconds * 1000),
    ADAMA_LOCATOR: `${names.locator(c)}.${ns}.svc:${c.spec.locator.port}`,
  };
  if (c.spec.gossip.enabled) data['ADAMA_GOSSIP_SEEDS'] = `${names.gossipPeers(c)}.${ns}.svc:${c.spec.gossip.port}`;
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: childMeta(c, names.config(c), 'config'), data };
}

/** Pod-template annotation that changes whenever the ConfigMap data does. */
export const configDigestAnnotation = (c: AdamaCluster): Record<string, string> => ({ 'adama.io/config-digest': digest(buildConfigMap(c).data) });
