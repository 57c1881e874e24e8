/**
 * Runs the DataService contract on real PostgreSQL (a fresh database per run) when DATABASE_URL
 * is set, plus the races that only a multi-session server can produce.
 */
import { Client } from 'pg';
import { freshStorage, postgresUrl } from '../../test/support/databases';
import { runArchiveDataContract } from './archive-data.contract';
import { runDataServiceContract } from './data-service.contract';
import { describeWhen } from '../../test/support/prerequisite';

if (postgresUrl() === undefined) {
  describeWhen(false, 'DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)')('SqlDataService on PostgreSQL', () => undefined);
} else {
  runDataServiceContract('SqlDataService on PostgreSQL', () => freshStorage(8));
  runArchiveDataContract('SqlDataService on PostgreSQL', () => freshStorage(8));

  describe('SqlDataService on PostgreSQL under contention', () => {
    it('findBind retries when a concurrent bind commits after its snapshot and reports the new owner', async () => {
      const storage = await freshStorage(4);
      const blocker = new Client({ connectionString: storage.connectionString });
      // pg_stat_activity is frozen inside a transaction, so a second session watches for the waiter.
      const observer = new Client({ connectionString: storage.connectionString });
      await blocker.connect();
      await observer.connect();
      try {
        const { data } = storage;
        const ref = { space: 'race', key: 'one' };
        await data.heartbeatHost('winner', 'w:1', 60_000);
        await data.heartbeatHost('loser', 'l:1', 60_000);
        await data.create(ref, 'creator', { seq: 1, who: null, request: null, redo: {}, undo: {} });
        await data.release(ref, 'creator', 1);

        // Another session binds the row but does not commit yet, holding the row lock.
        await blocker.query('BEGIN');
        await blocker.query(`UPDATE directory SET host = 'winner', epoch = epoch + 1, state = 'bound' WHERE space = 'race' AND key = 'one'`);
        const pending = data.findBind(ref, 'loser', []);
        await waitForLockWaiter(observer);
        await blocker.query('COMMIT');

        expect(await pending).toEqual({ kind: 'owned', host: 'winner' });
        expect(await data.lookup(ref)).toMatchObject({ host: 'winner', epoch: 2 });
      } finally {
        await blocker.end();
        await observer.end();
        await storage.close();
      }
    });
  });
}

/** Waits until a session of this database is blocked on a lock, i.e. findBind saw the old row and now waits. */
async function waitForLockWaiter(observer: Client): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const r = await observer.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if ((r.rows[0]?.n ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('findBind never blocked on the row lock');
}
