/** @module command — the shape of one `adama` subcommand. */
import type { FlagSpec } from '../options';

export interface Command {
  name: string;
  summary: string;
  flags: FlagSpec;
  /** Resolves with the process exit code. */
  run(args: string[]): Promise<number>;
}

export const DATABASE_URL_FLAG = { 'database-url': { help: 'PostgreSQL connection string shared by every tier', default: 'postgres://postgres@127.0.0.1:5432/postgres' } };
