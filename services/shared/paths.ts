/**
 * @module paths
 * Locates the package root, so that paths to shipped assets (example spaces, the built demo page)
 * are right whether code runs from TypeScript sources (tests) or from the compiled `dist/`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return (cached = dir);
    if (dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  }
}

/** Where the build puts the demo page and the console (scripts/build-web.mjs). */
export const DEFAULT_STATIC_DIR = join(packageRoot(), 'dist', 'public');
