/** The SDK against a proxy that refuses its identity: every request fails at once with the code, nothing hangs. */
import { E } from '../../services/shared/errors';
import { startTestCluster, type TestCluster } from '../support/cluster';

describe('SDK with a refused identity', () => {
  let t: TestCluster;
  beforeAll(async () => { t = await startTestCluster({ edge: { allowAnonymous: false } }); });
  afterAll(async () => { await t.close(); });

  it('fails createDocument, connect and later requests with the auth code instead of waiting forever', async () => {
    const c = t.client('nobody');
    await expect(c.createDocument('counter', 'x', {})).rejects.toMatchObject({ code: E.IDENTITY_INVALID.code, retry: false });
    const doc = c.connect('counter', 'x');
    await expect(doc.ready).rejects.toMatchObject({ code: E.IDENTITY_INVALID.code });
    await expect(doc.send('add', {})).rejects.toMatchObject({ code: E.IDENTITY_INVALID.code });
  });
});
