/**
 * @module pod-template
 * The hardened pod template every tier shares: non-root, read-only root, no API token, no
 * service-link env (which would collide with ADAMA_* names), and a config digest annotation.
 */
import type { AdamaCluster } from '../api/v1alpha1/types';
import { GOSSIP_LABEL, labels, podSecurityContext, TMP_VOLUME, type Component } from './common';
import { configDigestAnnotation } from './config-map';
import type { Container, PodTemplate } from './k8s';
import { tlsVolumes } from './internal-tls';
import type { TlsRole } from '../api/v1alpha1/types';

/** `tlsRoles`: the roles whose certificate Secrets the containers mount (spec.internalTls). */
export function buildPodTemplate(c: AdamaCluster, component: Component, containers: Container[], terminationGracePeriodSeconds: number, tlsRoles: readonly TlsRole[] = []): PodTemplate {
  const gossip = c.spec.gossip.enabled && (component === 'host' || component === 'proxy');
  const podLabels = { ...labels(c, component), ...(gossip ? { [GOSSIP_LABEL]: 'true' } : {}) };
  const annotations: Record<string, string> = { ...configDigestAnnotation(c) };
  if (c.spec.metrics.enabled) {
    annotations['prometheus.io/scrape'] = 'true';
    annotations['prometheus.io/port'] = String(c.spec.metrics.port);
  }
  return {
    metadata: { labels: podLabels, annotations },
    spec: {
      containers,
      securityContext: podSecurityContext(),
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds,
      ...(c.spec.imagePullSecrets?.length ? { imagePullSecrets: c.spec.imagePullSecrets } : {}),
      volumes: [TMP_VOLUME, ...tlsVolumes(c, tlsRoles)],
    },
  };
}
