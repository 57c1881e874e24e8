/** @module space — `adama space deploy [--dir <folder>]`: deploy every space in a folder. */
import { createLogger } from '../../shared/log';
import { openStorage } from '../../storage/open-storage';
import { DEFAULT_SPACES_DIR } from '../dev-cluster';
import { deploySpacesFromDir } from '../spaces-dir';
import { parseFlags, type FlagSpec } from '../options';
import { DATABASE_URL_FLAG, type Command } from './command';

const flags: FlagSpec = { ...DATABASE_URL_FLAG, dir: { help: 'folder of <space>/index.js (default examples/spaces)' } };

export const spaceCommand: Command = {
  name: 'space',
  summary: 'space deploy [--dir <folder>]: deploy spaces (new documents use the newest version)',
  flags,
  async run(args) {
    const f = parseFlags(args, flags);
    if (f.positionals[0] !== 'deploy') throw new Error('usage: adama space deploy [--dir <folder>]');
    const storage = await openStorage({ databaseUrl: f.get('database-url')!, poolSize: 1, log: createLogger('space') });
    const deployed = await deploySpacesFromDir(storage.data, f.get('dir') ?? DEFAULT_SPACES_DIR);
    await storage.close();
    for (const s of deployed) process.stdout.write(`${s.space}@${s.version}\n`);
    return 0;
  },
};
