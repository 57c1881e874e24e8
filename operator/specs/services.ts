/**
 * @module services
 * Services of the cluster. Three are headless: the hosts' (StatefulSet identity, per-pod DNS names
 * hosts advertise) and the gossip peers' (seed discovery), which publish not-ready addresses since
 * a starting or draining pod must still be reachable by its peers; and the locator's, so that
 * proxies' gRPC channels see every ready locator and balance over them (through a ClusterIP a
 * long-lived HTTP/2 connection stays on whichever pod it first reached).
 */
import type { AdamaCluster } from '../api/v1alpha1/types';
import { childMeta, GOSSIP_LABEL, names, selectorLabels } from './common';
import type { Service, ServicePort } from './k8s';

const tcp = (name: string, port: number): ServicePort => ({ name, port, targetPort: name, protocol: 'TCP' });

export function buildServices(c: AdamaCluster): Service[] {
  const metrics = c.spec.metrics.enabled ? [tcp('metrics', c.spec.metrics.port)] : [];
  const out: Service[] = [
    {
      apiVersion: 'v1', kind: 'Service', metadata: childMeta(c, names.hosts(c), 'host'),
      spec: { type: 'ClusterIP', clusterIP: 'None', publishNotReadyAddresses: true, selector: selectorLabels(c, 'host'), ports: [tcp('grpc', c.spec.hosts.port), ...metrics] },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: childMeta(c, names.proxies(c), 'proxy'),
      spec: { type: c.spec.proxies.serviceType, selector: selectorLabels(c, 'proxy'), ports: [tcp('http', c.spec.proxies.port), ...metrics] },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: childMeta(c, names.locator(c), 'locator'),
      spec: { type: 'ClusterIP', clusterIP: 'None', selector: selectorLabels(c, 'locator'), ports: [tcp('grpc', c.spec.locator.port)] },
    },
  ];
  if (c.spec.gossip.enabled) {
    // Every gossiping pod of this cluster, whatever its tier.
    const cluster = { 'app.kubernetes.io/name': 'adama', 'app.kubernetes.io/instance': c.metadata.name };
    out.push({
      apiVersion: 'v1', kind: 'Service', metadata: childMeta(c, names.gossipPeers(c), 'gossip'),
      spec: { type: 'ClusterIP', clusterIP: 'None', publishNotReadyAddresses: true, selector: { ...cluster, [GOSSIP_LABEL]: 'true' }, ports: [tcp('gossip', c.spec.gossip.port)] },
    });
  }
  return out;
}
