/**
 * A real adama-host process facing peers that misbehave on its Multiplex call: undecodable bytes,
 * envelopes with bad JSON or no body, requests for streams that do not exist, and proxies that
 * vanish mid-stream. Each is answered with a coded failure or ends only that call; the host
 * stays up, detaches what the call attached, and keeps serving everyone else.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import type { ProxyEnvelope } from '../../services/grpc/host-messages';
import { E } from '../../services/shared/errors';
import { silentLogger } from '../../services/shared/log';
import { HostConnection } from '../../services/web-proxy/host-connection';
import { startSplitCluster, type SplitCluster } from '../support/split-cluster';
import { hostAdminClient } from '../../services/grpc/host-admin-client';
import { encodeBatch, RawMultiplex, ViewWatcher } from '../support/host-rpc';
import { testTls } from '../support/internal-pki';

type ChatView = { messages: { text: string }[]; present: Record<string, number> };
const who = (agent: string) => ({ agent, authority: 'anonymous' });
const present = (agent: string) => (v: unknown) => (agent in (v as ChatView).present);
const absent = (agent: string) => (v: unknown) => !(agent in (v as ChatView).present);
const open = (id: number, key: string, agent: string, extra: Record<string, unknown> = {}): ProxyEnvelope =>
  ({ id, open: { space: 'chat', key, who: who(agent), has_since: false, since: 0, viewer_state_json: '{}', suspect_hosts: [], ...extra } });

describe('an adama-host process facing misbehaving peers', () => {
  let c: SplitCluster;
  let address: string;
  let conn: HostConnection;
  let probes = 0;
  const connect = () => new HostConnection({ hostId: 'host-1', address, log: silentLogger, maxBatch: 64, maxQueued: 10_000, onDead: () => undefined, tls: testTls('proxy') });
  /** A viewer on `key` through the well-behaved connection, once it sees itself present. */
  const watch = async (key: string, agent = 'watcher') => {
    await conn.createDocument({ space: 'chat', key }, who('creator'), {}).catch(() => undefined);
    const sink = new ViewWatcher();
    const stream = await conn.openStream({ space: 'chat', key }, who(agent), { viewerState: {} }, sink);
    await sink.until(present(agent));
    return { sink, stream };
  };
  /** The host answers Status and serves a fresh connection end to end. */
  const stillServing = async () => {
    const admin = hostAdminClient(address, testTls('admin'));
    expect(await admin.status()).toMatchObject({ host_id: 'host-1', draining: false });
    admin.close();
    const fresh = connect();
    const sink = new ViewWatcher();
    const key = `probe-${++probes}`;
    expect(await fresh.createDocument({ space: 'chat', key }, who('probe'), {})).toEqual({ seq: 1 });
    const stream = await fresh.openStream({ space: 'chat', key }, who('probe'), { viewerState: {} }, sink);
    await stream.send('say', { text: 'ok' }, undefined);
    await sink.until((v) => (v as ChatView).messages.some((m) => m.text === 'ok'));
    fresh.close();
  };

  beforeAll(async () => {
    c = await startSplitCluster({ hosts: 1, proxies: 1 });
    address = String(c.hosts.get('host-1')!.ready.address);
    conn = connect();
  }, 120_000);
  afterAll(async () => { conn?.close(); await c?.close(); });

  it.each([
    ['bytes that are not a protobuf message', 'not-protobuf', () => Buffer.from('ffffffffffffffffffffffff', 'hex')],
    ['a truncated ProxyBatch', 'truncated', () => { const b = encodeBatch([open(2, 'x', 'y')]); return b.subarray(0, b.length - 5); }],
  ])('ends only the call that sent %s, detaching its viewers, and keeps serving', async (_what, key, garbage) => {
    const { sink } = await watch(key);
    const raw = new RawMultiplex(address, {}, testTls('proxy'));
    raw.send(open(1, key, 'garbage-peer'));
    expect((await raw.answer(1)).body).toBe('reply');
    await sink.until(present('garbage-peer'));

    raw.writeRaw(garbage());
    expect(await raw.ended).toMatchObject({ code: grpcStatus.INTERNAL, details: expect.stringContaining('deserializing') });
    await sink.until(absent('garbage-peer'));
    expect(c.hosts.get('host-1')!.proc.exitCode).toBeNull();
    await stillServing();
  }, 60_000);

  it('answers envelopes with bad JSON, no body or no who with PEER_PROTOCOL_ERROR and keeps the call open', async () => {
    await watch('bad-json');
    const raw = new RawMultiplex(address, {}, testTls('proxy'));
    raw.send(open(1, 'bad-json', 'json-peer'));
    expect((await raw.answer(1)).body).toBe('reply');
    raw.send(
      { id: 2, send: { stream: 1, channel: 'say', message_json: '{nope', dedupe: '' } },
      { id: 3, update: { stream: 1, viewer_state_json: '{nope' } },
      { id: 4, create: { space: 'chat', key: 'never-created', who: who('json-peer'), arg_json: '{nope' } },
      open(5, 'bad-json', 'json-peer', { viewer_state_json: '{nope' }),
      { id: 6 } as ProxyEnvelope,
      open(7, 'bad-json', 'json-peer', { who: null }),
    );
    for (const id of [2, 3, 4, 5, 6, 7]) {
      expect(await raw.answer(id)).toMatchObject({ body: 'failure', failure: { code: E.PEER_PROTOCOL_ERROR.code, retry: false } });
    }
    expect(await c.storage.data.lookup({ space: 'chat', key: 'never-created' })).toBeNull();

    // The same call still works.
    raw.send({ id: 8, send: { stream: 1, channel: 'say', message_json: '{"text":"still here"}', dedupe: '' } });
    expect(await raw.answer(8)).toMatchObject({ body: 'reply', reply: { seq: expect.any(Number) } });
    await raw.next((e) => e.id === 1 && e.body === 'delta' && e.delta.data_json.includes('still here'));
    raw.close();
  }, 60_000);

  it('answers many requests for unknown streams with UNKNOWN_CONNECTION, one answer each', async () => {
    const raw = new RawMultiplex(address, {}, testTls('proxy'));
    const ids = Array.from({ length: 600 }, (_, i) => 100 + i);
    for (let b = 0; b < ids.length; b += 50) {
      raw.send(...ids.slice(b, b + 50).map((id): ProxyEnvelope => (id % 2 === 0
        ? { id, send: { stream: 999_999 + id, channel: 'say', message_json: '{"text":"x"}', dedupe: '' } }
        : { id, update: { stream: 999_999 + id, viewer_state_json: '{}' } })));
    }
    const answers = await Promise.all(ids.map((id) => raw.answer(id)));
    for (const a of answers) expect(a).toMatchObject({ body: 'failure', failure: { code: E.UNKNOWN_CONNECTION.code, retry: false } });
    // The call is still usable for real work.
    await watch('after-unknown');
    raw.send(open(1, 'after-unknown', 'late-peer'));
    expect((await raw.answer(1)).body).toBe('reply');
    raw.close();
    await stillServing();
  }, 60_000);

  it('detaches the viewers of a proxy connection that is cancelled mid-stream', async () => {
    const { sink, stream } = await watch('cancelled');
    const leaving = connect();
    await leaving.openStream({ space: 'chat', key: 'cancelled' }, who('leaver'), { viewerState: {} }, new ViewWatcher());
    await sink.until(present('leaver'));
    leaving.close();
    await sink.until(absent('leaver'));
    await stream.send('say', { text: 'after the leaver' }, undefined);
    await sink.until((v) => (v as ChatView).messages.some((m) => m.text === 'after the leaver'));
  }, 60_000);

  it('detaches the viewers of a proxy process killed with SIGKILL and keeps the document loaded and usable', async () => {
    const { sink, stream } = await watch('ghost-room');
    const ghost = c.client('ghost').connect('chat', 'ghost-room');
    await ghost.ready;
    await sink.until(present('ghost'));

    c.proxies[0]!.proc.kill('SIGKILL');
    expect((await c.proxies[0]!.exited).signal).toBe('SIGKILL');
    await sink.until(absent('ghost'));

    const admin = hostAdminClient(address, testTls('admin'));
    expect((await admin.status()).documents_loaded).toBeGreaterThan(0);
    admin.close();
    await stream.send('say', { text: 'after the ghost' }, undefined);
    await sink.until((v) => (v as ChatView).messages.some((m) => m.text === 'after the ghost'));
    expect(c.hosts.get('host-1')!.proc.exitCode).toBeNull();
  }, 60_000);
});
