/**
 * @module isolate-source
 * The text of the modules that run inside every space isolate before the space's code: the pure
 * delta core (so patches and views are computed where the state lives) and resident-core. They
 * are real TypeScript modules of this repository, tested on the host like any other, and loaded
 * here as source: from dist/ the compiled .js is used as is; from a TypeScript checkout (tests)
 * the .ts file is transpiled once per process. Each becomes a CommonJS factory in a tiny module
 * table, so they never see the host's `require`.
 */
import { readFileSync } from 'node:fs';

/** Module name (the file's base name) -> the path that resolves to it from here. */
const MODULES: Record<string, string> = {
  json: '../../shared/json',
  delta: '../../protocol/delta',
  'resident-core': './resident-core',
};

let cached: string | undefined;

function compiled(file: string): string {
  const text = readFileSync(file, 'utf8');
  if (!file.endsWith('.ts')) return text;
  // Only a source checkout gets here, where the compiler is a dev dependency.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof import('typescript');
  return ts.transpileModule(text, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, removeComments: true } }).outputText;
}

/** An expression that evaluates to resident-core's exports inside the isolate. */
export function residentCoreExpression(): string {
  if (cached !== undefined) return cached;
  const defs = Object.entries(MODULES).map(([name, spec]) =>
    `${JSON.stringify(name)}: function (exports, require, module) {\n${compiled(require.resolve(spec))}\n}`);
  cached = `(function () {
  const defs = {${defs.join(',\n')}};
  const made = Object.create(null);
  function req(spec) {
    const name = String(spec).split('/').pop().replace(/\\.(js|ts)$/, '');
    if (made[name]) return made[name].exports;
    if (!defs[name]) throw new Error('no module ' + spec + ' inside the sandbox');
    const m = { exports: {} };
    made[name] = m;
    defs[name](m.exports, req, m);
    return m.exports;
  }
  return req('resident-core');
})()`;
  return cached;
}
