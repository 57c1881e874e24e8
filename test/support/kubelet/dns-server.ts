/**
 * @module dns-server
 * The cluster DNS the pods' network shim asks (`GET /resolve?name=&ns=&from=<pod IP>` → a DnsAnswer as JSON),
 * on the node's loopback. HTTP rather than the DNS wire protocol: the shim replaces Node's
 * `dns.lookup`, which a resolv.conf nameserver cannot be set for without root.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeClient } from '../../../operator/kube/kube-client';
import { resolveForPod, type DnsOrder } from './cluster-dns';

export interface ClusterDnsServer { url: string; close(): Promise<void> }

export async function startClusterDns(client: () => KubeClient, order: DnsOrder): Promise<ClusterDnsServer> {
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://dns');
    const name = u.searchParams.get('name') ?? '';
    const ns = u.searchParams.get('ns') ?? 'default';
    resolveForPod(client(), name, ns, order, u.searchParams.get('from') ?? undefined).then(
      (answer) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify(answer)); },
      (err: unknown) => { res.writeHead(503); res.end(String(err)); },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
