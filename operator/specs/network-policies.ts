/**
 * @module network-policies
 * One NetworkPolicy per tier that admits only the callers that tier serves (docs/security.md has
 * the same table for gRPC methods; this is the network under it):
 *
 * | tier | port | from |
 * |---|---|---|
 * | proxy | http | anywhere (the public edge) |
 * | host | grpc | proxies (streams), the operator (Status, Drain) |
 * | locator | grpc | proxies (live hosts), hosts, the operator |
 * | archiver | (none: its admin gRPC binds the pod's loopback; `kubectl exec` reaches it) | |
 * | every gossiping pod | gossip | gossiping pods of this cluster |
 * | every tier with metrics (not the locator) | metrics | pods in `metricsNamespace` (anywhere when it is empty) |
 *
 * Traffic inside a pod (a host and its sidecar on loopback) is not subject to policies. Off by
 * default: a policy that names the wrong operator namespace would cut the operator off its hosts,
 * and policies do nothing without a CNI that enforces them.
 */
import type { AdamaCluster } from '../api/v1alpha1/types';
import { childMeta, GOSSIP_LABEL, names, selectorLabels, type Component } from './common';
import type { NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer } from './k8s';

/** The label Kubernetes puts on every namespace with its own name. */
const NAMESPACE_NAME = 'kubernetes.io/metadata.name';
const OPERATOR_LABELS = { 'app.kubernetes.io/name': 'adama', 'app.kubernetes.io/component': 'operator' };

export function buildNetworkPolicies(c: AdamaCluster): NetworkPolicy[] {
  const np = c.spec.networkPolicies;
  if (!np.enabled) return [];
  const tier = (component: Component): NetworkPolicyPeer => ({ podSelector: { matchLabels: selectorLabels(c, component) } });
  const operator: NetworkPolicyPeer = { namespaceSelector: { matchLabels: { [NAMESPACE_NAME]: np.operatorNamespace } }, podSelector: { matchLabels: OPERATOR_LABELS } };
  const gossipPeers: NetworkPolicyPeer = { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'adama', 'app.kubernetes.io/instance': c.metadata.name, [GOSSIP_LABEL]: 'true' } } };
  const tcp = (port: number) => [{ protocol: 'TCP' as const, port }];
  const common = (o: { gossip: boolean; metrics: boolean }): NetworkPolicyIngressRule[] => [
    ...(o.gossip && c.spec.gossip.enabled ? [{ from: [gossipPeers], ports: tcp(c.spec.gossip.port) }] : []),
    ...(o.metrics && c.spec.metrics.enabled ? [{ ...(np.metricsNamespace ? { from: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME]: np.metricsNamespace } } }] } : {}), ports: tcp(c.spec.metrics.port) }] : []),
  ];
  const policy = (component: Component, name: string, ingress: NetworkPolicyIngressRule[]): NetworkPolicy => ({
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: childMeta(c, name, component),
    spec: { podSelector: { matchLabels: selectorLabels(c, component) }, policyTypes: ['Ingress'], ingress },
  });
  const out = [
    policy('proxy', names.proxies(c), [{ ports: tcp(c.spec.proxies.port) }, ...common({ gossip: true, metrics: true })]),
    policy('host', names.hosts(c), [{ from: [tier('proxy'), operator], ports: tcp(c.spec.hosts.port) }, ...common({ gossip: true, metrics: true })]),
    policy('locator', names.locator(c), [{ from: [tier('proxy'), tier('host'), operator], ports: tcp(c.spec.locator.port) }]),
  ];
  if (c.spec.archiver.enabled) out.push(policy('archiver', names.archiver(c), common({ gossip: false, metrics: true })));
  return out;
}
