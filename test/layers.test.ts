/**
 * The import graph points down the layers of docs/architecture.md §10 and has no cycles
 * (.dependency-cruiser.cjs holds the rules). Runs the real `depcruise` over the sources.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = join(__dirname, '..');

describe('layers', () => {
  it('imports point down the layers and form no cycle', async () => {
    const bin = join(root, 'node_modules', '.bin', 'depcruise');
    const run = promisify(execFile)(bin, ['--config', '.dependency-cruiser.cjs', '--output-type', 'err', 'services', 'operator', 'client'], { cwd: root });
    await expect(run.then((r) => r.stdout)).resolves.toContain('no dependency violations found');
  }, 60_000);
});
