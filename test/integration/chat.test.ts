/** Two clients on one chat document through the real proxy, host, sandbox and database. */
import type { Json } from '../../services/shared/json';
import { startTestCluster, waitFor, type TestCluster } from '../support/cluster';

type ChatView = { messages: { author: string; text: string }[]; present: Record<string, number> };

describe('chat through the single-process cluster', () => {
  let t: TestCluster;
  beforeAll(async () => { t = await startTestCluster(); });
  afterAll(async () => { await t.close(); });

  it('delivers one client\'s message to the other and acks the sender with the durable seq', async () => {
    const alice = t.client('alice');
    const bob = t.client('bob');
    await alice.createDocument('chat', 'room1', { title: 'One' });
    const bobViews = waitFor<Json>();
    const a = alice.connect('chat', 'room1');
    const b = bob.connect('chat', 'room1', { onView: (v) => bobViews.push(v) });
    await Promise.all([a.ready, b.ready]);

    const { seq } = await a.send('say', { text: 'hello bob' });
    const seen = (await bobViews.until((v) => (v as ChatView).messages.length === 1)) as ChatView;
    expect(seen.messages[0]).toMatchObject({ author: 'alice', text: 'hello bob' });
    expect(seq).toBeGreaterThan(1);
    expect(b.seq).toBe(seq);
  });

  it('shows who is present and updates it when a viewer leaves', async () => {
    const carol = t.client('carol');
    const dave = t.client('dave');
    await carol.createDocument('chat', 'room2', {});
    const views = waitFor<Json>();
    const c = carol.connect('chat', 'room2', { onView: (v) => views.push(v) });
    await c.ready;
    const d = dave.connect('chat', 'room2');
    await views.until((v) => ('dave' in (v as ChatView).present));
    await d.end();
    const after = (await views.until((v) => !('dave' in (v as ChatView).present))) as ChatView;
    expect(Object.keys(after.present)).toEqual(['carol']);
  });

  it('rejects an invalid message with the space\'s reason and applies nothing', async () => {
    const erin = t.client('erin');
    await erin.createDocument('chat', 'room3', {});
    const e = erin.connect('chat', 'room3');
    await e.ready;
    await expect(e.send('say', { text: '   ' })).rejects.toMatchObject({ code: 3104, retry: false });
    await expect(e.send('nope', {})).rejects.toMatchObject({ code: 3004 });
    const { seq } = await e.send('say', { text: 'valid' });
    expect((e.view as ChatView).messages.map((m) => m.text)).toEqual(['valid']);
    expect(seq).toBe(3); // create=1, erin's connect=2, the valid say=3: rejected sends left no record
  });

  it('answers document/create twice with DOCUMENT_ALREADY_EXISTS and connection/create to a missing document with DOCUMENT_NOT_FOUND', async () => {
    const fred = t.client('fred');
    await fred.createDocument('counter', 'c1', {});
    await expect(fred.createDocument('counter', 'c1', {})).rejects.toMatchObject({ code: 3003 });
    const ghost = fred.connect('counter', 'does-not-exist');
    await expect(ghost.ready).rejects.toMatchObject({ code: 3002 });
    await expect(fred.createDocument('no-such-space', 'x', {})).rejects.toMatchObject({ code: 3001 });
  });

  it('applies a send exactly once when the same dedupe key is retried', async () => {
    const gina = t.client('gina');
    await gina.createDocument('counter', 'dedupe', {});
    const g = gina.connect('counter', 'dedupe');
    await g.ready;
    const first = await g.send('add', { by: 5 });
    // The SDK generates dedupe keys itself; here we replay one by hand through a second stream.
    const raw = await import('../support/raw-socket');
    const s = await raw.RawSocket.open(t.wsUrl);
    s.send({ id: 1, method: 'connection/create', space: 'counter', key: 'dedupe', identity: 'anonymous:gina' });
    await s.next((f) => f.deliver === 1);
    s.send({ id: 2, method: 'connection/send', connection: 1, channel: 'add', message: { by: 1 }, dedupe: 'same' });
    const r1 = await s.reply(2);
    s.send({ id: 3, method: 'connection/send', connection: 1, channel: 'add', message: { by: 1 }, dedupe: 'same' });
    const r2 = await s.reply(3);
    expect((r2.response as { seq: number }).seq).toBe((r1.response as { seq: number }).seq);
    const after = waitFor<Json>();
    const g2 = gina.connect('counter', 'dedupe', { onView: (v) => after.push(v) });
    await g2.ready;
    expect((g2.view as { value: number }).value).toBe(6);
    expect(first.seq).toBeLessThan((r1.response as { seq: number }).seq);
    s.close();
  });
});
