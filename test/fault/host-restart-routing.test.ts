/**
 * A host restarted under the same id at a new address (within its lease) must be routable again
 * as soon as membership shows the new address, not only after the proxy's suspicion expires.
 */
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { deploySpacesFromDir } from '../../services/cli/spaces-dir';
import { startHostProcess, type HostProcess } from '../../services/adama-host/host-process';
import { StaticMembership } from '../../services/routing/lease-membership';
import { silentLogger } from '../../services/shared/log';
import { RoutingHostClient } from '../../services/web-proxy/routing-host-client';
import { freshStorage } from '../support/databases';

const who = { agent: 'r', authority: 'anonymous' };
const sink = { onDelta: () => undefined, onClosed: () => undefined };

describe('routing to a host restarted under the same id', () => {
  let storage: Awaited<ReturnType<typeof freshStorage>>;
  let host: HostProcess | undefined;
  beforeAll(async () => {
    storage = await freshStorage(2);
    await deploySpacesFromDir(storage.data, DEFAULT_SPACES_DIR);
  });
  afterAll(async () => {
    await host?.close();
    await storage.close();
  });

  it('forgets the suspicion when the host reappears at a new address', async () => {
    // Nothing listens on the first address: the connection breaks and host-1 becomes suspected.
    const membership = new StaticMembership([{ id: 'host-1', address: '127.0.0.1:1', weight: 1 }]);
    const routing = new RoutingHostClient({ membership, log: silentLogger, maxBatch: 16, maxQueued: 1000, suspectForMs: 60_000 });
    await expect(routing.createDocument({ space: 'counter', key: 'k' }, who, {})).rejects.toMatchObject({ retry: true });

    host = await startHostProcess({ hostId: 'host-1', databaseUrl: storage.connectionString, bindAddress: '127.0.0.1', port: 0, leaseMs: 10_000, log: silentLogger });
    membership.set([{ id: 'host-1', address: host.address, weight: 1 }]);
    await expect(routing.createDocument({ space: 'counter', key: 'k' }, who, {})).resolves.toEqual({ seq: 1 });
    const stream = await routing.openStream({ space: 'counter', key: 'k' }, who, { viewerState: {} }, sink);
    await expect(stream.send('add', { by: 1 })).resolves.toEqual({ seq: 2 });
    routing.close();
  });
});
