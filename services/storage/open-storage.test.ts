/** openStorage wiring: embedded PGlite that survives a restart, PostgreSQL by URL, and an unreachable database. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { freshDatabase } from '../../test/support/databases';
import { E, isAdamaError } from '../shared/errors';
import { openStorage } from './open-storage';
import { maskPassword } from '../shared/urls';
import { SqlDataService } from './sql-data-service';

/** Nothing listens on port 1, so connecting fails at once with ECONNREFUSED. */
const UNREACHABLE_URL = 'postgres://postgres@127.0.0.1:1/postgres';
const ref = { space: 'persist', key: 'doc' };
const first = { seq: 1, who: { agent: 'ann', authority: 'test' }, request: { kind: 'connect' }, redo: { title: 'kept' }, undo: {} };

describe('openStorage', () => {
  it('keeps the data of a persistent embedded PGlite across close and reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'adama-pglite-'));
    try {
      const before = await openStorage({ dataDir: join(dir, 'db'), poolSize: 2 });
      expect(before.describe).toContain(join(dir, 'db'));
      expect(await before.data.create(ref, 'host-1', first)).toEqual({ epoch: 1 });
      await before.data.deploySpace('persist', 'code v1');
      await before.close();

      const after = await openStorage({ dataDir: join(dir, 'db'), poolSize: 2 });
      try {
        expect(await after.data.load(ref)).toEqual({ snapshot: null, records: [first] });
        expect(await after.data.getSpace('persist')).toEqual({ space: 'persist', version: 1, code: 'code v1' });
      } finally {
        await after.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('in check mode refuses a database that lacks migrations with SCHEMA_NOT_CURRENT, and opens it once they ran', async () => {
    const db = await freshDatabase();
    try {
      const refused = await openStorage({ databaseUrl: db.connectionString, poolSize: 1, schema: 'check' }).then(() => undefined, (e: unknown) => e);
      expect(isAdamaError(refused, E.SCHEMA_NOT_CURRENT)).toBe(true);
      expect((refused as Error).message).toMatch(/run adama migrate/);
      const migrating = await openStorage({ databaseUrl: db.connectionString, poolSize: 1 });
      expect(migrating.migrated.length).toBeGreaterThan(0);
      await migrating.close();
      const checked = await openStorage({ databaseUrl: db.connectionString, poolSize: 1, schema: 'check' });
      expect(checked.migrated).toEqual([]);
      expect(await checked.data.liveHosts()).toEqual([]);
      await checked.close();
    } finally {
      await db.close();
    }
  });

  it('opens a database by URL, runs migrations and never shows the password', async () => {
    const db = await freshDatabase();
    try {
      const storage = await openStorage({ databaseUrl: db.connectionString, poolSize: 2 });
      try {
        expect(await storage.data.lookup(ref)).toBeNull();
        expect(storage.describe.startsWith('postgres ')).toBe(true);
      } finally {
        await storage.close();
      }
    } finally {
      await db.close();
    }
    expect(maskPassword('postgres://adama:s3cret@db.internal:5432/adama')).toBe('postgres://adama:***@db.internal:5432/adama');
    expect(maskPassword('not a url')).not.toContain('not a url');
  });

  it('reports STORAGE_UNAVAILABLE when the database cannot be reached', async () => {
    const opening = await openStorage({ databaseUrl: UNREACHABLE_URL, poolSize: 1 }).catch((e: unknown) => e);
    expect(isAdamaError(opening, E.STORAGE_UNAVAILABLE)).toBe(true);
    const data = new SqlDataService(new Pool({ connectionString: UNREACHABLE_URL, max: 1 }));
    try {
      const err = await data.lookup(ref).catch((e: unknown) => e);
      expect(isAdamaError(err, E.STORAGE_UNAVAILABLE)).toBe(true);
      expect((err as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await data.close();
    }
  });
});
