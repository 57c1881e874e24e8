/**
 * `adama migrate` runs a rollout's migrations once; roles started with --migrate false apply none
 * and refuse a database that lacks one, with SCHEMA_NOT_CURRENT, instead of changing the schema
 * under the others.
 */
import { E } from '../../services/shared/errors';
import { runAdama, spawnAdama } from '../support/child';
import { freshDatabase } from '../support/databases';

describe('adama migrate and --migrate false', () => {
  it('refuses a host on an unmigrated database, migrates once, then starts it without migrating', async () => {
    const db = await freshDatabase();
    try {
      const refused = await runAdama(['host', '--host-id', 'm-host', '--port', '0', '--migrate', 'false', '--database-url', db.connectionString], {}, 30_000);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr + refused.stdout).toContain(`SCHEMA_NOT_CURRENT`);
      expect(refused.stderr + refused.stdout).toContain(String(E.SCHEMA_NOT_CURRENT.code));

      const first = await runAdama(['migrate', '--database-url', db.connectionString]);
      expect(first.code).toBe(0);
      const firstDone = first.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event?: string; applied?: number[] }).find((l) => l.event === 'migrate.done');
      expect(firstDone?.applied?.length).toBeGreaterThan(0);
      const again = await runAdama(['migrate', '--database-url', db.connectionString]);
      expect(again.stdout).toContain('"applied":[]');

      const host = await spawnAdama(['host', '--host-id', 'm-host', '--port', '0', '--migrate', 'false', '--database-url', db.connectionString], 'host.ready', { ADAMA_LOG_LEVEL: 'info' });
      host.proc.kill('SIGTERM');
      expect(await host.exited).toEqual({ code: 0, signal: null });
    } finally {
      await db.close();
    }
  }, 90_000);
});
