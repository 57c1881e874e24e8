/**
 * @module migrate
 * `adama migrate`: applies the pending database migrations once and exits, so that the processes
 * of a rollout can start with `--migrate false` and none of them changes the schema under the
 * others (the rollout's migration step; `adama dev` and `adama cluster` migrate by themselves).
 * Logs `migrate.done` with the versions it applied; running it again applies nothing.
 */
import { createLogger } from '../../shared/log';
import { openStorage } from '../../storage/open-storage';
import { parseFlags, type FlagSpec } from '../options';
import { DATABASE_URL_FLAG, type Command } from './command';

const flags: FlagSpec = { ...DATABASE_URL_FLAG };

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply pending database migrations once and exit (then start roles with --migrate false)',
  flags,
  async run(args) {
    const f = parseFlags(args, flags);
    const log = createLogger('migrate');
    const storage = await openStorage({ databaseUrl: f.get('database-url')!, poolSize: 1, log });
    await storage.close();
    log.info({ database: storage.describe, applied: storage.migrated }, 'migrate.done');
    return 0;
  },
};
