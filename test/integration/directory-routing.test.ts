/**
 * Proxies ask the locator where a document lives when they have no placement for it (issue
 * 11.3): after a host joins, documents whose rendezvous host changed are still bound to their old
 * owners; a proxy that never saw them routes straight to the owner (routing decision `directory`)
 * instead of to the new rendezvous host and a redirect. Real processes: hosts, a locator, proxies
 * without database credentials.
 */
import { startSplitCluster, type SplitCluster } from '../support/split-cluster';

const DOCS = 24;

/** A counter's value in a proxy's Prometheus text (0 when it has no sample yet). */
async function counter(metricsPort: unknown, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${String(metricsPort)}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(labels) && !l.startsWith('#'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('routing by the directory', () => {
  let s: SplitCluster;
  beforeAll(async () => { s = await startSplitCluster({ hosts: 2, proxies: 2 }); }, 60_000);
  afterAll(async () => { await s?.close(); });

  it('a proxy with no placement for a document goes to the owner the locator names, not to its new rendezvous host', async () => {
    const writer = s.client('writer', 0);
    const keys = Array.from({ length: DOCS }, (_, i) => `moved-${i}`);
    for (const key of keys) await writer.createDocument('chat', key, {});
    const held = keys.map((key) => writer.connect('chat', key)); // keeps them loaded on their owners
    await Promise.all(held.map((d) => d.ready));

    await s.startHost('host-3');
    const reader = s.proxies[1]!;
    const base = String(reader.ready.ws).replace(/^ws/, 'http').replace(/\/ws$/, '');
    // Membership has no event to await from outside the proxy: its health says when it knows host-3.
    for (let i = 0; i < 200; i++) {
      const health = await (await fetch(`${base}/healthz`)).json() as { hosts: number };
      if (health.hosts === 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const metricsPort = reader.ready.metricsPort;
    const redirectsBefore = await counter(metricsPort, 'adama_redirects_total');
    const viewers = keys.map((key) => s.client(`reader-${key}`, 1).connect('chat', key));
    await Promise.all(viewers.map((d) => d.ready));
    expect(await counter(metricsPort, 'adama_routing_decisions_total', 'kind="directory"')).toBe(DOCS);
    expect(await counter(metricsPort, 'adama_redirects_total')).toBe(redirectsBefore);
    // host-3 took none of them: they are served where they were bound.
    const rows = await Promise.all(keys.map((key) => s.storage.data.lookup({ space: 'chat', key })));
    expect(rows.every((r) => r?.host === 'host-1' || r?.host === 'host-2')).toBe(true);
  });
});
