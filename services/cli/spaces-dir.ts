/**
 * @module spaces-dir
 * Deploys every space found in a directory: `<dir>/<space>/index.js` (a CommonJS-style script
 * that sets module.exports). The space's name is its folder's name.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataService, SpaceVersion } from '../storage/data-service';

export async function deploySpacesFromDir(data: DataService, dir: string): Promise<SpaceVersion[]> {
  const deployed: SpaceVersion[] = [];
  for (const entry of (await readdir(dir)).sort()) {
    const file = join(dir, entry, 'index.js');
    if (!(await stat(file).catch(() => null))?.isFile()) continue;
    deployed.push(await data.deploySpace(entry, await readFile(file, 'utf8')));
  }
  return deployed;
}
