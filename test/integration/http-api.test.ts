/**
 * The HTTP surface (issue 12.4): POST a message to a channel the space opened with `httpChannels`,
 * through the real proxy (edge authentication, rate and size limits) and host on PostgreSQL, with
 * fetch as the other system. One process, then split tiers (proxy -> host over gRPC).
 */
import { E } from '../../services/shared/errors';
import { openStorage, type Storage } from '../../services/storage/open-storage';
import { startTestCluster, type TestCluster } from '../support/cluster';
import { spacesDirWith } from '../support/spaces-dir';
import { startSplitCluster, type SplitCluster } from '../support/split-cluster';

const HOOKS = `
module.exports = {
  httpChannels: ['event'],
  init() { return { events: [] }; },
  channels: {
    event(state, m, who) {
      if (!m || typeof m.name !== 'string') throw new Error('an event needs a name');
      state.events.push({ id: state.events.length + 1, name: m.name, by: who.id });
    },
    internal(state) { state.events.push({ id: 0, name: 'internal' }); },
  },
  view(state) { return state; },
};`;

interface Answer { status: number; body: { seq?: number; code?: number; retry?: boolean; retryAfterMs?: number }; headers: Headers }

async function post(base: string, path: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: r.status, body: await r.json() as Answer['body'], headers: r.headers };
}

const event = (key: string, channel = 'event') => `/api/v1/spaces/hooks/documents/${key}/channels/${channel}`;
const as = (name: string) => ({ authorization: `Bearer anonymous:${name}` });

describe('the HTTP API on one process', () => {
  let t: TestCluster;
  let storage: Storage;
  let base: string;
  beforeAll(async () => {
    t = await startTestCluster({ spacesDir: spacesDirWith({ hooks: HOOKS }), proxy: { maxFrameBytes: 2048, messagesPerPrincipalBurst: 5, messagesPerPrincipalPerSec: 1 } });
    storage = await openStorage({ databaseUrl: t.databaseUrl });
    base = t.wsUrl.replace(/^ws/, 'http').replace(/\/ws$/, '');
    await t.client('setup').createDocument('hooks', 'inbox', {});
  });
  afterAll(async () => { await storage?.close(); await t?.close(); });

  it('applies a POSTed message once it is durable, as the caller; a viewer sees it', async () => {
    const seen = new Promise<unknown>((resolve) => {
      const doc = t.client('viewer').connect('hooks', 'inbox', { onView: (v) => { if ((v as { events: unknown[] }).events.length > 0) resolve(v); } });
      void doc.ready;
    });
    const r = await post(base, event('inbox'), JSON.stringify({ name: 'deployed' }), as('ci-bot'));
    expect(r).toMatchObject({ status: 200, body: { seq: expect.any(Number) } });
    await expect(seen).resolves.toEqual({ events: [{ id: 1, name: 'deployed', by: 'anonymous:ci-bot' }] });
    const { records } = await storage.data.load({ space: 'hooks', key: 'inbox' });
    expect(records.at(-1)).toMatchObject({ seq: r.body.seq, who: { agent: 'ci-bot', authority: 'anonymous' }, request: { kind: 'send', channel: 'event' } });
  });

  it('applies a retried request with the same Idempotency-Key once and answers it with the same seq', async () => {
    const headers = { ...as('retrier'), 'idempotency-key': 'delivery-42' };
    const first = await post(base, event('inbox'), JSON.stringify({ name: 'paid' }), headers);
    const again = await post(base, event('inbox'), JSON.stringify({ name: 'paid' }), headers);
    expect(first.status).toBe(200);
    expect(again.body.seq).toBe(first.body.seq);
    const { records } = await storage.data.load({ space: 'hooks', key: 'inbox' });
    expect(records.filter((x) => (x.request as { message?: { name?: string } }).message?.name === 'paid')).toHaveLength(1);
  });

  it('answers every refusal with its code, a status from its kind, and nothing applied', async () => {
    const before = (await storage.data.load({ space: 'hooks', key: 'inbox' })).records.length;
    const cases: [Promise<Answer>, number, number][] = [
      [post(base, event('inbox', 'internal'), '{}', as('a1')), 403, E.HTTP_CHANNEL_DENIED.code],
      [post(base, event('inbox'), '{"name":"x"}'), 401, E.IDENTITY_INVALID.code],
      [post(base, event('inbox'), '{"name":"x"}', { authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' }), 401, E.TOKEN_INVALID.code],
      [post(base, event('inbox'), '{"name":', as('a2')), 400, E.FRAME_NOT_JSON.code],
      [post(base, event('inbox'), JSON.stringify({ name: 'x'.repeat(4096) }), as('a3')), 413, E.FRAME_TOO_LARGE.code],
      [post(base, event('inbox'), '{}', as('a4')), 409, E.SPACE_REJECTED.code],
      [post(base, event('nowhere'), '{"name":"x"}', as('a5')), 404, E.DOCUMENT_NOT_FOUND.code],
      [post(base, '/api/v1/spaces/hooks', '{}', as('a6')), 404, E.UNKNOWN_METHOD.code],
      [post(base, event('bad key!'), '{}', as('a7')), 400, E.INVALID_NAME.code],
    ];
    for (const [answer, status, code] of cases) await expect(answer).resolves.toMatchObject({ status, body: { code, retry: false } });
    const get = await fetch(`${base}${event('inbox')}`);
    expect(get.status).toBe(405);
    expect((await storage.data.load({ space: 'hooks', key: 'inbox' })).records.length).toBe(before);
  });

  it('rate-limits per principal like a socket\'s sends: 429 with Retry-After, retryable', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => post(base, event('inbox'), JSON.stringify({ name: `burst-${i}` }), as('flooder'))));
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.body).toMatchObject({ code: E.RATE_LIMITED.code, retry: true, retryAfterMs: expect.any(Number) });
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(5);
  });
});

describe('the HTTP API through split tiers', () => {
  let s: SplitCluster;
  beforeAll(async () => {
    s = await startSplitCluster({ hosts: 2, proxies: 1 });
    await s.storage.data.deploySpace('hooks', HOOKS);
  }, 60_000);
  afterAll(async () => { await s?.close(); });

  it('reaches the owning host over gRPC and is durable when answered', async () => {
    const base = String(s.proxies[0]!.ready.ws).replace(/^ws/, 'http').replace(/\/ws$/, '');
    const c = s.client('setup-split');
    for (let i = 0; i < 4; i++) await c.createDocument('hooks', `split-${i}`, {});
    for (let i = 0; i < 4; i++) {
      const r = await post(base, event(`split-${i}`), JSON.stringify({ name: `n${i}` }), as('remote'));
      expect(r).toMatchObject({ status: 200, body: { seq: 2 } });
      expect((await s.storage.data.load({ space: 'hooks', key: `split-${i}` })).records).toHaveLength(2);
    }
  });
});
