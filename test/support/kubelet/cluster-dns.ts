/**
 * @module cluster-dns
 * What CoreDNS with the kubernetes plugin answers a pod, computed from the API server's objects
 * at the moment of the question (no TTL caching):
 *
 * - the pod's resolv.conf: `search <ns>.svc.cluster.local svc.cluster.local cluster.local`,
 *   `ndots:5`: a name with fewer than five dots is tried with each search domain, then as is;
 * - `<svc>.<ns>.svc.cluster.local` of a headless Service: one A record per endpoint, i.e. per pod
 *   the selector matches that has an IP and is not Succeeded/Failed, and is Ready and not
 *   terminating unless the Service has `publishNotReadyAddresses` (then every such pod, as the
 *   endpoints controller includes them);
 * - `<hostname>.<subdomain>.<ns>.svc.cluster.local`: the pod with that `spec.hostname` and
 *   `spec.subdomain`, while it is an endpoint of the headless Service named by the subdomain;
 * - an ExternalName Service: its `externalName`, resolved outside the cluster.
 * Records come in a random order per answer (the default Corefile's `loadbalance`), or in a stable
 * order (pod name) for a cluster without it, or with the asking pod's own address first: one of
 * the orders `loadbalance` hands out (1 in n), pinned so a test that needs it is deterministic. Not modelled: ClusterIP addresses (there is no
 * kube-proxy, so a name that would answer one fails loudly), SRV and PTR records, `<ip>.pod`
 * names, negative caching.
 */
import type { KubeClient } from '../../../operator/kube/kube-client';
import type { DnsAnswer } from './netns-env';

export const CLUSTER_DOMAIN = 'cluster.local';
const NDOTS = 5;

/** Random per answer (CoreDNS `loadbalance`, in the default Corefile), by pod name, or the asker's own address first. */
export type DnsOrder = 'shuffled' | 'stable' | 'querier-first';

/** The names a pod's resolver tries for `name`, in order. */
export function searchCandidates(name: string, namespace: string): string[] {
  const n = name.toLowerCase();
  if (n.endsWith('.')) return [n.slice(0, -1)];
  const dots = n.split('.').length - 1;
  const searched = [`${namespace}.svc.${CLUSTER_DOMAIN}`, `svc.${CLUSTER_DOMAIN}`, CLUSTER_DOMAIN].map((d) => `${n}.${d}`);
  return dots >= NDOTS ? [n, ...searched] : [...searched, n];
}

interface ServiceShape { metadata: { name: string }; spec?: { type?: string; clusterIP?: string; selector?: Record<string, string>; publishNotReadyAddresses?: boolean; externalName?: string } }
interface PodShape {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: { hostname?: string; subdomain?: string };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

/** The pods a Service's endpoints list (see the module comment for the rule). */
export function endpointPods(svc: ServiceShape, pods: readonly PodShape[]): PodShape[] {
  const selector = svc.spec?.selector;
  if (!selector || Object.keys(selector).length === 0) return [];
  const all = svc.spec?.publishNotReadyAddresses === true;
  return pods.filter((p) => {
    if (!Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v)) return false;
    if (!p.status?.podIP || p.status.phase === 'Succeeded' || p.status.phase === 'Failed') return false;
    if (all) return true;
    const ready = (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    return ready && !p.metadata.deletionTimestamp;
  });
}

type ZoneAnswer = DnsAnswer | 'nxdomain' | 'outside';

/** One fully qualified name against one namespace's objects. */
export function answerName(fqdn: string, services: (ns: string) => ServiceShape[], pods: (ns: string) => PodShape[], order: DnsOrder, querierIP?: string): ZoneAnswer {
  const zone = `.svc.${CLUSTER_DOMAIN}`;
  if (!fqdn.endsWith(`.${CLUSTER_DOMAIN}`) && fqdn !== CLUSTER_DOMAIN) return 'outside';
  if (!fqdn.endsWith(zone)) return 'nxdomain';
  const labels = fqdn.slice(0, -zone.length).split('.');
  if (labels.length !== 2 && labels.length !== 3) return 'nxdomain';
  const [host, svcName, ns] = labels.length === 3 ? labels as [string, string, string] : [undefined, labels[0]!, labels[1]!];
  const svc = services(ns).find((s) => s.metadata.name === svcName);
  if (!svc) return 'nxdomain';
  if (svc.spec?.type === 'ExternalName') return host === undefined && svc.spec.externalName ? { kind: 'external', name: svc.spec.externalName } : 'nxdomain';
  if (svc.spec?.clusterIP !== 'None') {
    return host === undefined ? { kind: 'notfound', reason: `Service ${ns}/${svcName} has a ClusterIP; ClusterIP routing (kube-proxy) is not modelled by the process kubelet` } : 'nxdomain';
  }
  const members = endpointPods(svc, pods(ns));
  const chosen = host === undefined ? members : members.filter((p) => p.spec?.hostname === host && p.spec?.subdomain === svcName);
  if (chosen.length === 0) return 'nxdomain';
  const sorted = [...chosen].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)).map((p) => p.status!.podIP!);
  const addresses = order === 'shuffled' ? shuffle(sorted)
    : order === 'querier-first' ? [...sorted.filter((a) => a === querierIP), ...sorted.filter((a) => a !== querierIP)]
    : sorted;
  return { kind: 'addresses', addresses };
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** Resolves `name` as a pod in `namespace` would, reading Services and Pods through the API. */
export async function resolveForPod(client: KubeClient, name: string, namespace: string, order: DnsOrder, querierIP?: string): Promise<DnsAnswer> {
  const cache = new Map<string, { services: ServiceShape[]; pods: PodShape[] }>();
  const objects = async (ns: string) => {
    let o = cache.get(ns);
    if (!o) {
      const [services, pods] = await Promise.all([
        client.list({ apiVersion: 'v1', kind: 'Service' }, ns), client.list({ apiVersion: 'v1', kind: 'Pod' }, ns),
      ]);
      o = { services: services.items as unknown as ServiceShape[], pods: pods.items as unknown as PodShape[] };
      cache.set(ns, o);
    }
    return o;
  };
  for (const candidate of searchCandidates(name, namespace)) {
    const labels = candidate.split('.');
    // The namespace label of a cluster name; load it before answering (answerName is synchronous).
    const zoneNs = candidate.endsWith(`.svc.${CLUSTER_DOMAIN}`) ? labels[labels.length - 4] : undefined;
    if (zoneNs !== undefined) await objects(zoneNs);
    const a = answerName(candidate, (ns) => cache.get(ns)?.services ?? [], (ns) => cache.get(ns)?.pods ?? [], order, querierIP);
    if (a === 'nxdomain') continue;
    if (a === 'outside') return { kind: 'external', name: candidate };
    return a;
  }
  return { kind: 'notfound', reason: 'NXDOMAIN' };
}
