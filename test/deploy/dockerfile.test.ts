/**
 * The Dockerfile read as text: a tiny parser joins continuation lines, drops comments and splits
 * stages; the tests assert its structure. test/deploy/image.test.ts runs the image it builds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Instruction { op: string; args: string }
interface Stage { base: string; name?: string; steps: Instruction[] }

function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const raw of joined.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    const op = m[1]!.toUpperCase();
    const rest = m[2]!.replace(/\s+/g, ' ').trim();
    if (op === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!from) throw new Error(`bad FROM: ${rest}`);
      const base = from[1]!.replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? '');
      stages.push({ base, ...(from[2] ? { name: from[2] } : {}), steps: [] });
    } else if (op === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      args.set(k!, v ?? '');
    } else {
      const stage = stages[stages.length - 1];
      if (!stage) throw new Error(`${op} before FROM`);
      stage.steps.push({ op, args: rest });
    }
  }
  return { args, stages };
}

const docker = parseDockerfile(readFileSync(join(__dirname, '../../deploy/Dockerfile'), 'utf8'));
const runtime = docker.stages[docker.stages.length - 1]!;
const all = (s: Stage, op: string) => s.steps.filter((i) => i.op === op);
const last = (s: Stage, op: string) => all(s, op).at(-1);

describe('deploy/Dockerfile', () => {
  it('is multi-stage, every stage on the same Node 20 LTS image or on an earlier stage', () => {
    expect(docker.stages.map((s) => s.name)).toEqual(['deps', 'build', 'prod-deps', 'runtime']);
    docker.stages.forEach((s, i) => {
      if (docker.stages.slice(0, i).some((earlier) => earlier.name === s.base)) return;
      expect(s.base).toMatch(/^node:20(\.\d+){0,2}-(bookworm|bookworm-slim|alpine\d*\.?\d*)$/);
    });
    // The dependency stage is shared: dependencies (and isolated-vm's native build) happen once.
    expect(docker.stages.filter((s) => s.base === 'deps').map((s) => s.name)).toEqual(['build', 'prod-deps']);
  });

  it('installs dependencies from the manifests and .npmrc alone, before any source is copied (a source change reuses the cached install)', () => {
    const deps = docker.stages.find((s) => s.name === 'deps')!;
    const copies = all(deps, 'COPY').map((c) => c.args);
    expect(copies).toEqual(['package.json package-lock.json .npmrc ./']);
    // .npmrc is what lets npm accept the tree (legacy-peer-deps, see its comment).
    expect(readFileSync(join(__dirname, '../../.npmrc'), 'utf8')).toMatch(/^legacy-peer-deps=true$/m);
  });

  it('runs as a numeric non-root user', () => {
    const user = last(runtime, 'USER')?.args ?? '';
    const uid = Number(user.split(':')[0]);
    expect(Number.isInteger(uid) && uid > 0).toBe(true);
    // Matches runAsUser of the pod security context.
    expect(uid).toBe(10001);
  });

  it('enters through the adama CLI with --no-node-snapshot (exec form)', () => {
    const entry = JSON.parse(last(runtime, 'ENTRYPOINT')?.args ?? 'null') as string[];
    expect(entry).toEqual(['node', '--no-node-snapshot', '/app/dist/services/cli/main.js']);
  });

  it('installs production dependencies without dev ones, and the runtime copies only dist, them and assets', () => {
    const prodDeps = docker.stages.find((s) => s.name === 'prod-deps')!;
    expect(all(prodDeps, 'RUN').some((r) => /npm (ci|install) .*--omit=dev/.test(r.args) || /npm prune --omit=dev/.test(r.args))).toBe(true);
    expect(prodDeps.base).toBe('deps');
    const copies = all(runtime, 'COPY').map((c) => c.args);
    const fromStage = copies.filter((c) => c.includes('--from='));
    expect(fromStage.map((c) => /--from=(\S+)/.exec(c)?.[1] + ':' + c.split(' ').at(-2))).toEqual(['prod-deps:/src/node_modules', 'build:/src/dist']);
    // Never the build stage's node_modules (it holds jest, typescript, esbuild).
    expect(copies.some((c) => c.includes('--from=build') && c.includes('node_modules'))).toBe(false);
    const local = copies.filter((c) => !c.includes('--from=')).map((c) => c.split(' ').at(-2));
    // The example spaces: what `adama dev` deploys by default.
    expect(local.sort()).toEqual(['examples/spaces', 'package.json', 'proto']);
  });

  it('leaves no compiler or npm run in the runtime stage', () => {
    expect(all(runtime, 'RUN').map((r) => r.args).join(' ')).not.toMatch(/npm|g\+\+|apt-get install/);
  });

  it('has a .dockerignore that keeps node_modules, dist, .git, tests and benchmarks out of the context', () => {
    const ignore = readFileSync(join(__dirname, '../../deploy/Dockerfile.dockerignore'), 'utf8').split('\n');
    for (const p of ['**/node_modules', 'dist', '.git', 'test', 'bench', '**/*.test.ts', '**/*.bench.ts']) expect(ignore).toContain(p);
  });
});
