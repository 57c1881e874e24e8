/** The locator over real gRPC on loopback and a real database. */
import * as grpc from '@grpc/grpc-js';
import { serviceClient } from '../grpc/load-proto';
import { silentLogger } from '../shared/log';
import { freshDatabase } from '../../test/support/databases';
import { openStorage } from '../storage/open-storage';
import { INSECURE_INTERNAL } from '../grpc/internal-tls';
import { locatorDirectory } from '../grpc/locator-client';
import { startLocatorProcess, type LocatorProcess } from './locator-process';

type Call = (req: unknown, cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void) => void;

describe('locator service', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let locator: LocatorProcess;
  let client: grpc.Client & Record<string, Call>;
  const call = (method: string, req: unknown) => new Promise<Record<string, unknown>>((resolve, reject) => client[method]!(req, (err, res) => (err ? reject(err) : resolve(res))));

  beforeAll(async () => {
    db = await freshDatabase();
    locator = await startLocatorProcess({ databaseUrl: db.connectionString, bindAddress: '127.0.0.1', port: 0, log: silentLogger });
    const Client = serviceClient('locator.proto', 'adama.locator.v1.Locator');
    client = new Client(`127.0.0.1:${locator.port}`, grpc.credentials.createInsecure()) as never;
    const storage = await openStorage({ databaseUrl: db.connectionString, poolSize: 1, log: silentLogger });
    await storage.data.create({ space: 'chat', key: 'a' }, 'host-1', { seq: 1, who: null, request: {}, redo: {}, undo: null });
    await storage.data.heartbeatHost('host-1', '127.0.0.1:1', 60_000);
    await storage.close();
  });
  afterAll(async () => {
    client.close();
    await locator.close();
    await db.close();
  });

  it('looks a document up', async () => {
    expect(await call('Lookup', { space: 'chat', key: 'a' })).toMatchObject({ found: true, host: 'host-1', epoch: 1, head_seq: 1, state: 'bound' });
    expect(await call('Lookup', { space: 'chat', key: 'nope' })).toMatchObject({ found: false });
  });

  it('lists the live hosts, and serves them to a proxy\'s directory client', async () => {
    expect(await call('LiveHosts', {})).toMatchObject({ hosts: [{ host_id: 'host-1', address: '127.0.0.1:1', lease_expires_at_ms: expect.any(Number) }] });
    const directory = locatorDirectory(`127.0.0.1:${locator.port}`, INSECURE_INTERNAL);
    try {
      expect(await directory.liveHosts()).toEqual([{ hostId: 'host-1', address: '127.0.0.1:1', leaseExpiresAtMs: expect.any(Number) }]);
    } finally {
      directory.close();
    }
  });

  it('fails a directory call with a deadline when no locator answers', async () => {
    const directory = locatorDirectory('127.0.0.1:1', INSECURE_INTERNAL, 500);
    try {
      await expect(directory.liveHosts()).rejects.toMatchObject({ code: expect.any(Number) });
    } finally {
      directory.close();
    }
  });

  it('lists documents by host', async () => {
    expect(await call('ListByHost', { host: 'host-1' })).toEqual({ documents: [{ space: 'chat', key: 'a' }] });
  });

  it('reports the live owner on findbind, and binds once the owner is named dead', async () => {
    expect(await call('FindBind', { ref: { space: 'chat', key: 'a' }, host: 'host-2', dead_hosts: [] })).toMatchObject({ outcome: 'owned', owner: 'host-1' });
    expect(await call('FindBind', { ref: { space: 'chat', key: 'a' }, host: 'host-2', dead_hosts: ['host-1'] })).toMatchObject({ outcome: 'bound', epoch: 2, owner: 'host-2' });
    expect(await call('FindBind', { ref: { space: 'chat', key: 'missing' }, host: 'host-2', dead_hosts: [] })).toMatchObject({ outcome: 'not_found' });
  });

  it('releases only for the owner at its epoch', async () => {
    expect(await call('Release', { ref: { space: 'chat', key: 'a' }, host: 'host-1', epoch: 1 })).toEqual({ released: false });
    expect(await call('Release', { ref: { space: 'chat', key: 'a' }, host: 'host-2', epoch: 2 })).toEqual({ released: true });
    expect(await call('Lookup', { space: 'chat', key: 'a' })).toMatchObject({ state: 'free' });
  });

  it('answers the standard health check', async () => {
    const Health = serviceClient('health.proto', 'grpc.health.v1.Health');
    const health = new Health(`127.0.0.1:${locator.port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, Call>;
    const res = await new Promise<Record<string, unknown>>((resolve, reject) => health.Check!({}, (e, r) => (e ? reject(e) : resolve(r))));
    expect(res).toEqual({ status: 'SERVING' });
    health.close();
  });
});
