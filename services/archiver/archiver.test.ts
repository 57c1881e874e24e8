/** The archive scenarios on the filesystem object store in a temp dir. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runArchiveScenarios } from '../../test/support/archive-scenarios';
import { FsObjectStore } from './fs-object-store';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

runArchiveScenarios('the filesystem store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'adama-archive-'));
  dirs.push(dir);
  return new FsObjectStore(dir);
});
