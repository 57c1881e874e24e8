/**
 * Gossip failure detection across real processes: 3 hosts and 2 proxies, each with an
 * `adama gossip` sidecar (1 s failure timeout). A host killed with SIGKILL, and separately one
 * frozen with SIGSTOP, leaves both proxies' routing within the timeout (plus spread and the
 * proxies' view), clients on its documents keep working, and SIGCONT brings the frozen one back.
 */
import { startGossipCluster, TEST_GOSSIP, type GossipCluster } from '../support/gossip-cluster';

type ChatView = { messages: { author: string; text: string }[] };
// Probe timeout + failure timeout + spread over 5 sidecars + Watch + /healthz. Measured 1.5–2 s on
// an idle box; the bound leaves room for a loaded 2-core CI machine (scheduling delays every hop).
const DETECT_BOUND_MS = TEST_GOSSIP.failureTimeoutMs + TEST_GOSSIP.healthTimeoutMs + 4_000;

/** When each proxy's sidecar logged `id` dead, ms after `sinceMs` (from the sidecars' own JSON logs). */
function sidecarDetectMs(c: GossipCluster, id: string, sinceMs: number): number[] {
  return c.proxies.map((p) => {
    const e = p.sidecar.logs.find((l) => l.event === 'gossip.member_dead' && l.peer === id && Date.parse(String(l.time)) >= sinceMs);
    return e ? Date.parse(String(e.time)) - sinceMs : NaN;
  });
}

describe('gossip sidecars: dead and frozen hosts leave routing (3 hosts, 2 proxies, separate processes)', () => {
  let c: GossipCluster;
  beforeAll(async () => {
    c = await startGossipCluster({ hosts: 3, proxies: 2 });
    await c.untilProxiesSee(3, 15_000);
  }, 120_000);
  afterAll(async () => { await c?.close(); });

  /** A connected client on a document owned by `hostId` (tries keys until rendezvous puts one there). */
  async function docOwnedBy(hostId: string, tag: string) {
    const setup = c.client(`setup-${tag}`);
    for (let k = 0; k < 40; k++) {
      const key = `${tag}-${k}`;
      await setup.createDocument('chat', key, {});
      const row = await c.storage.data.lookup({ space: 'chat', key });
      if (row?.host === hostId) {
        const doc = c.client(`writer-${tag}`, 1).connect('chat', key);
        await doc.ready;
        return { key, doc };
      }
    }
    throw new Error(`no document landed on ${hostId}`);
  }

  it('drops a SIGKILLed host from both proxies within the timeout, and its clients keep working', async () => {
    const { key, doc } = await docOwnedBy('host-1', 'kill');
    await doc.send('say', { text: 'before' });
    const killedAt = Date.now();
    c.hosts.get('host-1')!.host.proc.kill('SIGKILL');
    const ms = await c.untilProxiesSee(2, 20_000);
    process.stderr.write(`SIGKILL: proxies dropped host-1 after ${ms} ms; proxy sidecars declared it dead after ${sidecarDetectMs(c, 'host-1', killedAt).join(', ')} ms\n`);
    expect(ms).toBeLessThan(DETECT_BOUND_MS);
    await doc.send('say', { text: 'after' });
    const row = await c.storage.data.lookup({ space: 'chat', key });
    expect(row!.host).not.toBe('host-1');
    const view = (await c.client('reader-kill').connect('chat', key).ready) as ChatView;
    expect(view.messages.map((m) => m.text)).toEqual(['before', 'after']);
  }, 60_000);

  it('drops a SIGSTOPped host (its health probe times out), moves its clients, and takes it back after SIGCONT', async () => {
    const frozen = c.hosts.get('host-2')!.host;
    const { key, doc } = await docOwnedBy('host-2', 'stop');
    await doc.send('say', { text: 'before' });
    const stoppedAt = Date.now();
    frozen.proc.kill('SIGSTOP');
    try {
      const ms = await c.untilProxiesSee(1, 20_000);
      process.stderr.write(`SIGSTOP: proxies dropped host-2 after ${ms} ms; proxy sidecars declared it dead after ${sidecarDetectMs(c, 'host-2', stoppedAt).join(', ')} ms\n`);
      expect(ms).toBeLessThan(DETECT_BOUND_MS);
      await doc.send('say', { text: 'during' });
      expect((await c.storage.data.lookup({ space: 'chat', key }))!.host).toBe('host-3');
    } finally {
      frozen.proc.kill('SIGCONT');
    }
    await c.untilProxiesSee(2, 20_000);
    const view = (await c.client('reader-stop').connect('chat', key).ready) as ChatView;
    expect(view.messages.map((m) => m.text)).toEqual(['before', 'during']);
  }, 60_000);
});
