// Bundles the demo page (and the client SDK it imports) for browsers into dist/public (tsc never writes there).
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';

await mkdir('dist/public', { recursive: true });
await build({
  entryPoints: ['web/app.ts'],
  bundle: true,
  format: 'esm',
  target: ['es2020'],
  sourcemap: true,
  outfile: 'dist/public/app.js',
  logLevel: 'warning',
});
await copyFile('web/index.html', 'dist/public/index.html');
