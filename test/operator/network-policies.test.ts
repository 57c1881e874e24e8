/**
 * The operator's NetworkPolicies admit exactly the callers each tier serves (issue 11.4). A small
 * evaluator of the documented NetworkPolicy semantics (a pod selected by any policy admits only
 * what some rule of those policies allows; a rule without `from` admits anyone on its ports; a
 * peer with both selectors needs both to match) runs every caller against every port, with the
 * labels of the pods the operator's own templates produce.
 */
import { desiredChildren } from '../../operator/controller/children';
import { buildArchiverDeployment, buildHostStatefulSet, buildLocatorDeployment, buildNetworkPolicies, buildProxyDeployment } from '../../operator/specs';
import type { NetworkPolicy, NetworkPolicyPeer } from '../../operator/specs/k8s';
import { cluster } from './crd-schema';

interface Pod { name: string; namespace: string; labels: Record<string, string> }

const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

function peerMatches(peer: NetworkPolicyPeer, policyNs: string, src: Pod): boolean {
  const nsLabels = { 'kubernetes.io/metadata.name': src.namespace };
  const nsOk = peer.namespaceSelector ? matches(peer.namespaceSelector.matchLabels, nsLabels) : src.namespace === policyNs;
  const podOk = peer.podSelector ? matches(peer.podSelector.matchLabels, src.labels) : true;
  return nsOk && podOk;
}

function admits(policies: readonly NetworkPolicy[], dest: Pod, src: Pod, port: number): boolean {
  const selecting = policies.filter((p) => p.metadata.namespace === dest.namespace && matches(p.spec.podSelector.matchLabels, dest.labels));
  if (selecting.length === 0) return true;
  return selecting.some((p) => p.spec.ingress.some((rule) => rule.ports.some((r) => r.port === port)
    && (rule.from === undefined || rule.from.some((peer) => peerMatches(peer, p.metadata.namespace, src)))));
}

describe('NetworkPolicies', () => {
  const c = cluster({ networkPolicies: { enabled: true, operatorNamespace: 'adama-system', metricsNamespace: 'monitoring' }, archiver: { enabled: true }, objectStore: { secretRef: { name: 's3' } } });
  const policies = buildNetworkPolicies(c);
  const podOf = (name: string, labels: Record<string, string> | undefined): Pod => ({ name, namespace: 'adama', labels: labels ?? {} });
  const host = podOf('host', buildHostStatefulSet(c, 3).spec.template.metadata.labels);
  const proxy = podOf('proxy', buildProxyDeployment(c).spec.template.metadata.labels);
  const locator = podOf('locator', buildLocatorDeployment(c).spec.template.metadata.labels);
  const archiver = podOf('archiver', buildArchiverDeployment(c)!.spec.template.metadata.labels);
  const operator: Pod = { name: 'operator', namespace: 'adama-system', labels: { 'app.kubernetes.io/name': 'adama', 'app.kubernetes.io/instance': 'adama', 'app.kubernetes.io/component': 'operator' } };
  const prometheus: Pod = { name: 'prometheus', namespace: 'monitoring', labels: { app: 'prometheus' } };
  const neighbour: Pod = { name: 'neighbour', namespace: 'adama', labels: { app: 'something-else' } };
  const outsider: Pod = { name: 'outsider', namespace: 'elsewhere', labels: {} };
  const everyone = [host, proxy, locator, archiver, operator, prometheus, neighbour, outsider];
  const admitted = (dest: Pod, port: number): string[] => everyone.filter((src) => admits(policies, dest, src, port)).map((p) => p.name).sort();
  const { hosts, proxies, locator: loc, gossip, metrics } = c.spec;

  it('lets anyone reach the proxies\' public port, and only gossiping pods their gossip port', () => {
    expect(admitted(proxy, proxies.port)).toEqual(everyone.map((p) => p.name).sort());
    expect(admitted(proxy, gossip.port)).toEqual(['host', 'proxy']);
  });

  it('lets only proxies and the operator reach a host\'s gRPC port, and only gossiping pods its gossip port', () => {
    expect(admitted(host, hosts.port)).toEqual(['operator', 'proxy']);
    expect(admitted(host, gossip.port)).toEqual(['host', 'proxy']);
  });

  it('lets only proxies, hosts and the operator reach the locator', () => {
    expect(admitted(locator, loc.port)).toEqual(['host', 'operator', 'proxy']);
  });

  it('opens metrics ports to the metrics namespace only, and nothing else of the archiver', () => {
    for (const pod of [host, proxy, archiver]) expect(admitted(pod, metrics.port)).toEqual(['prometheus']);
    expect(admitted(archiver, 7300)).toEqual([]);
    expect(admitted(locator, metrics.port)).toEqual([]);
  });

  it('are applied only when enabled, and deleted when turned off', () => {
    expect(desiredChildren(c).apply.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name).sort())
      .toEqual(['prod-archiver', 'prod-host', 'prod-locator', 'prod-proxy']);
    const off = desiredChildren(cluster());
    expect(off.apply.some((o) => o.kind === 'NetworkPolicy')).toBe(false);
    expect(off.absent.filter((a) => a.kind === 'NetworkPolicy')).toHaveLength(4);
  });
});
