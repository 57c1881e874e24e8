/**
 * Failover across real processes: clients on many documents across 3 hosts keep sending while
 * one host is killed with SIGKILL. Every acknowledged message is present exactly once, every log
 * is gapless, and no client reopened its socket.
 */
import type { AdamaDocument } from '../../client/index';
import { startSplitCluster, type SplitCluster } from '../support/split-cluster';

type ChatView = { messages: { author: string; text: string }[] };
const DOCS = 12;
const WRITERS_PER_DOC = 2;

describe('SIGKILL of a host under load (3 hosts, 1 proxy, separate processes)', () => {
  let c: SplitCluster;
  beforeAll(async () => { c = await startSplitCluster({ hosts: 3, proxies: 1 }); }, 120_000);
  afterAll(async () => { await c?.close(); });

  it('loses no acknowledged message, applies none twice, keeps logs gapless and sockets open', async () => {
    const setup = c.client('setup');
    for (let d = 0; d < DOCS; d++) await setup.createDocument('chat', `room-${d}`, {});
    const writers: { name: string; doc: AdamaDocument; room: string; acked: string[] }[] = [];
    for (let d = 0; d < DOCS; d++) {
      for (let w = 0; w < WRITERS_PER_DOC; w++) {
        const name = `w${d}-${w}`;
        const doc = c.client(name).connect('chat', `room-${d}`);
        writers.push({ name, doc, room: `room-${d}`, acked: [] });
      }
    }
    await Promise.all(writers.map((w) => w.doc.ready));
    const socketsBefore = c.socketsOpened.count;

    // The victim is the host that owns the most documents right now.
    const owners = await Promise.all(Array.from({ length: DOCS }, (_, d) => c.storage.data.lookup({ space: 'chat', key: `room-${d}` })));
    const counts = new Map<string, number>();
    for (const o of owners) counts.set(o!.host!, (counts.get(o!.host!) ?? 0) + 1);
    const victim = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    expect(counts.size).toBeGreaterThan(1);

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

    for (let d = 0; d < DOCS; d++) {
      const ref = { space: 'chat', key: `room-${d}` };
      const row = await c.storage.data.lookup(ref);
      expect(row!.host).not.toBe(victim);
      const { snapshot, records } = await c.storage.data.load(ref);
      const first = (snapshot?.seq ?? 0) + 1;
      expect(records.map((r) => r.seq)).toEqual(Array.from({ length: row!.headSeq - first + 1 }, (_, i) => first + i));
      const reader = c.client(`reader${d}`).connect('chat', ref.key);
      const view = (await reader.ready) as ChatView;
      const texts = view.messages.map((m) => m.text);
      for (const w of writers.filter((x) => x.room === ref.key)) {
        for (const text of w.acked) expect(texts.filter((t) => t === text)).toHaveLength(1);
      }
    }
    // Readers opened one socket each; writers opened none after the start.
    expect(c.socketsOpened.count - socketsBefore).toBe(DOCS);
  }, 120_000);
});
