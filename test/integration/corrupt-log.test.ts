/**
 * A document whose stored state is damaged (an order naming an element that is not there) is
 * refused with LOG_CORRUPT (permanent), never INTERNAL, and the host keeps serving the others.
 */
import { Client } from 'pg';
import { E } from '../../services/shared/errors';
import { RawSocket } from '../support/raw-socket';
import { startTestCluster, type TestCluster } from '../support/cluster';

describe('a damaged document', () => {
  let t: TestCluster;
  beforeAll(async () => { t = await startTestCluster(); });
  afterAll(async () => { await t?.close(); });

  it('is refused with LOG_CORRUPT on load, and other documents keep working', async () => {
    const c = t.client('writer');
    for (const key of ['damaged', 'healthy']) await c.createDocument('chat', key, {});
    const doc = c.connect('chat', 'damaged');
    await doc.ready;
    await doc.send('say', { text: 'one' });
    await doc.end();
    // Unload everything (a snapshot at the head), then damage the snapshot behind the host's back.
    await t.cluster.host.drain();
    t.cluster.host.resume();
    const pg = new Client({ connectionString: t.databaseUrl });
    await pg.connect();
    try {
      const r = await pg.query(`UPDATE doc_snapshot SET state = '{"messages": {"@o": ["ghost"]}}'::jsonb WHERE space = 'chat' AND key = 'damaged'`);
      expect(r.rowCount).toBe(1);
    } finally {
      await pg.end();
    }
    const s = await RawSocket.open(t.wsUrl);
    s.send({ id: 1, method: 'auth', identity: 'anonymous:reader' });
    await s.reply(1);
    s.send({ id: 2, method: 'connection/create', space: 'chat', key: 'damaged' });
    expect(await s.next((f) => f.failure === 2)).toMatchObject({ code: E.LOG_CORRUPT.code, retry: false });
    s.send({ id: 3, method: 'connection/create', space: 'chat', key: 'healthy' });
    expect(await s.next((f) => f.deliver === 3)).toMatchObject({ done: false });
    s.close();
  });
});
