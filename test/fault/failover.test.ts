/**
 * Failover across real processes: clients on many documents across 3 hosts keep sending while
 * one host is killed with SIGKILL. Every acknowledged message is present exactly once, every log
 * is gapless, and no client reopened its socket.
 */
import { startSplitCluster, type SplitCluster } from '../support/split-cluster';
import { busiestHost, expectEveryAckExactlyOnce, openChatWriters } from '../support/chat-load';

const DOCS = 12;
const WRITERS_PER_DOC = 2;

describe('SIGKILL of a host under load (3 hosts, 1 proxy, separate processes)', () => {
  let c: SplitCluster;
  beforeAll(async () => { c = await startSplitCluster({ hosts: 3, proxies: 1 }); }, 120_000);
  afterAll(async () => { await c?.close(); });

  it('loses no acknowledged message, applies none twice, keeps logs gapless and sockets open', async () => {
    const writers = await openChatWriters(c, DOCS, WRITERS_PER_DOC);
    const socketsBefore = c.socketsOpened.count;
    const { host: victim, hostsInUse } = await busiestHost(c, DOCS);
    expect(hostsInUse).toBeGreaterThan(1);

    const killAt = 5; // every writer has 5 acks before the kill ...
    const after = 5; //  ... and 5 more after it
    let ackedBeforeKill = 0;
    let releaseKill!: () => void;
    const killMoment = new Promise<void>((r) => (releaseKill = r));
    const run = writers.map(async (w) => {
      for (let i = 0; i < killAt + after; i++) {
        const text = `${w.name}#${i}`;
        await w.doc.send('say', { text });
        w.acked.push(text);
        if (i === killAt - 1 && ++ackedBeforeKill === writers.length) releaseKill();
        if (i === killAt - 1) await killMoment;
      }
    });
    await killMoment;
    c.hosts.get(victim)!.proc.kill('SIGKILL');
    await Promise.all(run);

    await expectEveryAckExactlyOnce(c, writers, DOCS, victim);
    // Readers opened one socket each; writers opened none after the start.
    expect(c.socketsOpened.count - socketsBefore).toBe(DOCS);
  }, 120_000);
});
