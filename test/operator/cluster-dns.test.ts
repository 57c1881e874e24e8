/**
 * The process kubelet's cluster DNS against the rules CoreDNS's kubernetes plugin follows: the
 * pod's search path and ndots:5, headless Services answering their endpoints (ready pods, or
 * every pod with an IP under publishNotReadyAddresses), per-pod hostnames, ExternalName, and a
 * loud refusal for ClusterIP names (no kube-proxy here).
 */
import { answerName, endpointPods, searchCandidates } from '../support/kubelet/cluster-dns';

const pod = (name: string, o: { ip?: string; ready?: boolean; phase?: string; deleting?: boolean; hostname?: string; subdomain?: string; app?: string } = {}) => ({
  metadata: { name, labels: { app: o.app ?? 'x' }, ...(o.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
  spec: { ...(o.hostname ? { hostname: o.hostname } : {}), ...(o.subdomain ? { subdomain: o.subdomain } : {}) },
  status: { phase: o.phase ?? 'Running', ...(o.ip ? { podIP: o.ip } : {}), conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
});
const headless = (name: string, publishNotReady: boolean) => ({ metadata: { name }, spec: { clusterIP: 'None', selector: { app: 'x' }, publishNotReadyAddresses: publishNotReady } });

describe('cluster DNS', () => {
  test('search path and ndots:5: short names are tried in the namespace, then svc, then the cluster domain, then as they are', () => {
    expect(searchCandidates('peers', 'adama')).toEqual(['peers.adama.svc.cluster.local', 'peers.svc.cluster.local', 'peers.cluster.local', 'peers']);
    expect(searchCandidates('peers.adama.svc', 'other')[2]).toBe('peers.adama.svc.cluster.local');
    expect(searchCandidates('a.b.c.d.e.f', 'adama')[0]).toBe('a.b.c.d.e.f');
    expect(searchCandidates('db.example.com.', 'adama')).toEqual(['db.example.com']);
  });

  test('a headless Service lists ready pods with IPs, or every live pod with an IP under publishNotReadyAddresses', () => {
    const pods = [pod('a', { ip: '10.0.0.1' }), pod('b', { ip: '10.0.0.2', ready: false }), pod('c', { ip: '10.0.0.3', deleting: true }), pod('d'), pod('e', { ip: '10.0.0.5', phase: 'Failed' }), pod('f', { ip: '10.0.0.6', app: 'y' })];
    expect(endpointPods(headless('s', false), pods).map((p) => p.metadata.name)).toEqual(['a']);
    expect(endpointPods(headless('s', true), pods).map((p) => p.metadata.name)).toEqual(['a', 'b', 'c']);
  });

  test('answers: service records, per-pod hostnames, ExternalName, NXDOMAIN, and no ClusterIP', () => {
    const services = [headless('peers', true), { metadata: { name: 'db' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } }, { metadata: { name: 'web' }, spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', selector: { app: 'x' } } }];
    const pods = [pod('h-1', { ip: '10.0.0.2', hostname: 'h-1', subdomain: 'peers' }), pod('h-0', { ip: '10.0.0.1', hostname: 'h-0', subdomain: 'peers', ready: false })];
    const ask = (n: string) => answerName(n, (ns) => (ns === 'adama' ? services : []), (ns) => (ns === 'adama' ? pods : []), 'stable');
    expect(ask('peers.adama.svc.cluster.local')).toEqual({ kind: 'addresses', addresses: ['10.0.0.1', '10.0.0.2'] });
    expect(ask('h-0.peers.adama.svc.cluster.local')).toEqual({ kind: 'addresses', addresses: ['10.0.0.1'] });
    expect(ask('h-9.peers.adama.svc.cluster.local')).toBe('nxdomain');
    expect(ask('peers.other.svc.cluster.local')).toBe('nxdomain');
    expect(ask('db.adama.svc.cluster.local')).toEqual({ kind: 'external', name: 'db.example.com' });
    expect(ask('web.adama.svc.cluster.local')).toMatchObject({ kind: 'notfound', reason: expect.stringMatching(/kube-proxy\) is not modelled/) });
    expect(ask('example.com')).toBe('outside');
    // The asker's own address first (one order loadbalance hands out, pinned for tests).
    expect(answerName('peers.adama.svc.cluster.local', () => services, () => pods, 'querier-first', '10.0.0.2')).toEqual({ kind: 'addresses', addresses: ['10.0.0.2', '10.0.0.1'] });
    // Random order per answer (CoreDNS loadbalance), same set.
    const shuffled = answerName('peers.adama.svc.cluster.local', () => services, () => pods, 'shuffled');
    expect(shuffled !== 'nxdomain' && shuffled !== 'outside' && shuffled.kind === 'addresses' && [...shuffled.addresses].sort()).toEqual(['10.0.0.1', '10.0.0.2']);
  });
});
