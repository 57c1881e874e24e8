/**
 * A drain racing a stream that is attaching: the drain must leave the host owning nothing, even
 * when a viewer's attach was still queued behind a change when the drain began.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DocumentHost } from '../../services/adama-host/document-host';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { createIsolatedSandbox } from '../../services/runtime/isolated-sandbox';
import { systemClock } from '../../services/shared/clock';
import { hostDefaults, resolveConfig } from '../../services/shared/config';
import { silentLogger } from '../../services/shared/log';
import { freshStorage } from '../support/databases';
import { ViewWatcher } from '../support/host-rpc';

const ref = { space: 'chat', key: 'attaching-during-drain' };
const who = (agent: string) => ({ agent, authority: 'anonymous' });

describe('a drain that races an attaching stream (in process)', () => {
  let storage: Awaited<ReturnType<typeof freshStorage>>;
  beforeAll(async () => {
    storage = await freshStorage();
    await storage.data.deploySpace('chat', readFileSync(join(DEFAULT_SPACES_DIR, 'chat', 'index.js'), 'utf8'));
  }, 120_000);
  afterAll(async () => { await storage?.close(); });

  it('releases every binding although an attach queued behind a change was refused by the unload', async () => {
    const host = new DocumentHost({ hostId: 'draining', data: storage.data, sandboxFactory: createIsolatedSandbox, clock: systemClock, log: silentLogger, config: resolveConfig(hostDefaults, {}, {}) });
    await host.createDocument(ref, who('creator'), {});
    const writer = await host.openStream(ref, who('writer'), { viewerState: {} }, new ViewWatcher());

    // A change is running, an attach queues behind it, and the drain starts: all in one turn.
    const sending = writer.send('say', { text: 'in flight' }, 'in-flight-1');
    const attaching = host.openStream(ref, who('late'), { viewerState: {} }, new ViewWatcher());
    const draining = host.shutdown('drain');
    const [sent, attached] = await Promise.allSettled([sending, attaching]);
    await draining;

    // The change in flight committed; the late attach may fail, but only retryably (it moves on).
    expect(sent).toMatchObject({ status: 'fulfilled', value: { seq: 3 } });
    if (attached.status === 'rejected') expect(attached.reason).toMatchObject({ retry: true });
    // After the drain the host owns nothing: not in memory, not in the directory.
    expect(host.loadedDocuments).toBe(0);
    expect(await storage.data.listByHost('draining')).toEqual([]);
    expect(await storage.data.lookup(ref)).toMatchObject({ host: null, state: 'free' });
  }, 60_000);
});
