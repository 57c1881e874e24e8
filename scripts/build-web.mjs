// Bundles the demo page (and the client SDK it imports) for browsers into dist/web.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';

await mkdir('dist/web', { recursive: true });
await build({
  entryPoints: ['web/app.ts'],
  bundle: true,
  format: 'esm',
  target: ['es2020'],
  sourcemap: true,
  outfile: 'dist/web/app.js',
  logLevel: 'warning',
});
await copyFile('web/index.html', 'dist/web/index.html');
