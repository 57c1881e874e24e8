/**
 * @module config-map
 * Non-secret settings every container reads through `envFrom`, so only what every command reads
 * belongs here: a key one tier ignores is a setting that silently does nothing there. Tier-specific
 * settings are container env or args (the host's shutdown grace, the sidecar's seeds). Its digest
 * is a pod-template annotation, so a change rolls proxies (Deployment) and is seen by the host
 * roll (OnDelete, operator-driven).
 */
import type { AdamaCluster } from '../api/v1alpha1/types';
import { childMeta, digest, names } from './common';
import type { ConfigMap } from './k8s';

export function buildConfigMap(c: AdamaCluster): ConfigMap {
  const data: Record<string, string> = {
    // Read by every command's logger (services/shared/log.ts).
    ADAMA_LOG_LEVEL: c.spec.logLevel,
  };
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: childMeta(c, names.config(c), 'config'), data };
}

/** Pod-template annotation that changes whenever the ConfigMap data does. */
export const configDigestAnnotation = (c: AdamaCluster): Record<string, string> => ({ 'adama.io/config-digest': digest(buildConfigMap(c).data) });
