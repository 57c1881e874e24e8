/**
 * @module spaces-dir
 * A spaces directory for a test cluster: the example spaces plus the test's own, each given as
 * its code (written to `<dir>/<name>/index.js`), in a fresh temporary directory.
 */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';

export function spacesDirWith(extra: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'adama-spaces-'));
  cpSync(DEFAULT_SPACES_DIR, dir, { recursive: true });
  for (const [name, code] of Object.entries(extra)) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'index.js'), code);
  }
  return dir;
}
