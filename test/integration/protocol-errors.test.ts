/** Bad input at the edge: every mistake gets its coded failure; the socket, the process and other clients carry on. */
import { E } from '../../services/shared/errors';
import { startTestCluster, type TestCluster } from '../support/cluster';
import { RawSocket } from '../support/raw-socket';

describe('protocol errors at the web-proxy', () => {
  let t: TestCluster;
  let s: RawSocket;
  beforeAll(async () => {
    t = await startTestCluster({ proxy: { maxFrameBytes: 4096, maxStreamsPerSocket: 3 } });
    await t.client('setup').createDocument('counter', 'shared', {});
  });
  afterAll(async () => { await t.close(); });
  beforeEach(async () => { s = await RawSocket.open(t.wsUrl); });
  afterEach(() => s.close());

  const failureFor = async (id: number | null) => s.next((f) => 'failure' in f && f.failure === id);

  it('answers text that is not JSON with FRAME_NOT_JSON and keeps the socket', async () => {
    s.send('{this is not json');
    expect(await failureFor(null)).toMatchObject({ code: E.FRAME_NOT_JSON.code, retry: false });
    s.send({ id: 1, method: 'auth', identity: 'anonymous:still-here' });
    expect(await s.reply(1)).toMatchObject({ done: true, response: { agent: 'still-here' } });
  });

  it('answers an unknown method with UNKNOWN_METHOD naming the request', async () => {
    s.send({ id: 9, method: 'document/destroy-everything' });
    expect(await failureFor(9)).toMatchObject({ code: E.UNKNOWN_METHOD.code });
  });

  it('answers a request with missing fields with INVALID_REQUEST', async () => {
    s.send({ id: 2, method: 'connection/create', space: 'counter' });
    expect(await failureFor(2)).toMatchObject({ code: E.INVALID_REQUEST.code });
  });

  it('answers an oversized frame with FRAME_TOO_LARGE and keeps the socket', async () => {
    s.send({ id: 3, method: 'auth', identity: 'x'.repeat(5000) });
    expect(await failureFor(null)).toMatchObject({ code: E.FRAME_TOO_LARGE.code });
    s.send({ id: 4, method: 'auth', identity: 'anonymous:ok' });
    expect(await s.reply(4)).toMatchObject({ done: true });
  });

  it('answers a request without identity with IDENTITY_INVALID, and a malformed identity too', async () => {
    s.send({ id: 5, method: 'connection/create', space: 'counter', key: 'shared' });
    expect(await failureFor(5)).toMatchObject({ code: E.IDENTITY_INVALID.code });
    s.send({ id: 6, method: 'auth', identity: 'root:admin' });
    expect(await failureFor(6)).toMatchObject({ code: E.IDENTITY_INVALID.code });
  });

  it('refuses the stream past the per-socket cap with TOO_MANY_STREAMS', async () => {
    s.send({ id: 1, method: 'auth', identity: 'anonymous:many' });
    await s.reply(1);
    for (const id of [10, 11, 12]) {
      s.send({ id, method: 'connection/create', space: 'counter', key: 'shared' });
      await s.next((f) => f.deliver === id);
    }
    s.send({ id: 13, method: 'connection/create', space: 'counter', key: 'shared' });
    expect(await failureFor(13)).toMatchObject({ code: E.TOO_MANY_STREAMS.code, retry: true });
    s.send({ id: 14, method: 'connection/create', space: 'counter', key: 'shared' });
    expect(await failureFor(14)).toMatchObject({ code: E.TOO_MANY_STREAMS.code });
    s.send({ id: 15, method: 'connection/end', connection: 10 });
    await s.reply(15);
    s.send({ id: 16, method: 'connection/create', space: 'counter', key: 'shared' });
    expect(await s.next((f) => f.deliver === 16)).toMatchObject({ done: false });
  });

  it('refuses a second stream with an id already open, and sends to unknown streams', async () => {
    s.send({ id: 1, method: 'auth', identity: 'anonymous:dup' });
    await s.reply(1);
    s.send({ id: 20, method: 'connection/create', space: 'counter', key: 'shared' });
    await s.next((f) => f.deliver === 20);
    // Any request under a live stream's id is refused with failure: null (a failure naming 20 would
    // mean stream 20 ended) and refusedId; the stream keeps working.
    s.send({ id: 20, method: 'connection/create', space: 'counter', key: 'shared' });
    expect(await failureFor(null)).toMatchObject({ refusedId: 20, code: E.DUPLICATE_REQUEST_ID.code, retry: false });
    s.send({ id: 20, method: 'connection/send', connection: 20, channel: 'add', message: { by: 1 } });
    expect(await failureFor(null)).toMatchObject({ refusedId: 20, code: E.DUPLICATE_REQUEST_ID.code });
    s.send({ id: 20, method: 'nope' });
    expect(await failureFor(null)).toMatchObject({ refusedId: 20, code: E.DUPLICATE_REQUEST_ID.code });
    s.send({ id: 22, method: 'connection/send', connection: 20, channel: 'add', message: { by: 1 } });
    expect(await s.reply(22)).toMatchObject({ done: true });
    expect(await s.next((f) => f.deliver === 20 && f.done === false)).toBeTruthy();
    s.send({ id: 21, method: 'connection/send', connection: 999, channel: 'add', message: {} });
    expect(await failureFor(21)).toMatchObject({ code: E.UNKNOWN_CONNECTION.code });
  });

  it('refuses invalid names with INVALID_NAME', async () => {
    s.send({ id: 30, method: 'document/create', space: 'counter', key: 'bad key/../x', identity: 'anonymous:n' });
    expect(await failureFor(30)).toMatchObject({ code: E.INVALID_NAME.code });
  });

  it('keeps serving other clients while one socket sends garbage', async () => {
    const good = t.client('good');
    const doc = good.connect('counter', 'shared');
    await doc.ready;
    for (let i = 0; i < 50; i++) s.send(i % 2 ? '\u0000\u0001garbage' : { id: i, method: 'nope' });
    const { seq } = await doc.send('add', { by: 1 });
    expect(seq).toBeGreaterThan(1);
    expect(await s.next((f) => f.failure === 48)).toMatchObject({ code: E.UNKNOWN_METHOD.code });
  });

  it('answers binary frames with FRAME_NOT_JSON', async () => {
    s.ws.send(Buffer.from([1, 2, 3]));
    expect(await failureFor(null)).toMatchObject({ code: E.FRAME_NOT_JSON.code });
  });

  it('closes a socket that sends a frame above the hard limit, and only that socket', async () => {
    const other = t.client('other');
    const doc = other.connect('counter', 'shared');
    await doc.ready;
    s.ws.send('x'.repeat(1024 * 1024 + 10));
    const closed = await s.closed;
    expect(closed.code).toBe(1009);
    await expect(doc.send('add', { by: 1 })).resolves.toMatchObject({ seq: expect.any(Number) });
  });
});
