/**
 * The container image as built (deploy/Dockerfile by deploy/buildah/build-image.sh; .ci/run builds
 * it and sets IMAGE_UNDER_TEST), run with `buildah run --isolation chroot`: every role answers
 * --help through the image's ENTRYPOINT, `dev` serves its demo to a client outside the image, a
 * host and a proxy from the image form a split cluster on the machine's PostgreSQL that a client
 * uses through the proxy, and the image is small and carries no tests, benchmarks or dev tools.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import WebSocket from 'ws';
import { AdamaClient, type WebSocketFactory } from '../../client/index';
import type { Json } from '../../services/shared/json';
import { COMMANDS } from '../../services/cli/commands/registry';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { deploySpacesFromDir } from '../../services/cli/spaces-dir';
import { freshStorage } from '../support/databases';
import { buildahAvailable, imageUnderTest, inspectImage, WorkingContainer, type ImageFacts } from '../support/image';
import { describeWhen } from '../support/prerequisite';

const IMAGE = imageUnderTest();
/** Generous: measured 344 MB (docs/kubernetes.md); this catches a dev tree or a build cache slipping in. */
const MAX_IMAGE_BYTES = 600e6;
const POSTGRES = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const ROOT = join(__dirname, '..', '..');

const describeIfImage = describeWhen(IMAGE !== undefined && buildahAvailable(),
  'IMAGE_UNDER_TEST (an image built by deploy/buildah/build-image.sh) and buildah on PATH');

/** Resolves with the first view the predicate accepts (the SDK calls onView after every delta). */
function viewWhere(predicate: (view: Json) => boolean): { onView(view: Json, seq: number): void; seen: Promise<{ view: Json; seq: number }> } {
  let resolve!: (v: { view: Json; seq: number }) => void;
  const seen = new Promise<{ view: Json; seq: number }>((r) => (resolve = r));
  return { onView: (view, seq) => { if (predicate(view)) resolve({ view, seq }); }, seen };
}

/** Creates counter/<key>, connects, sends add 2 and resolves with the ack and the view that shows it. */
async function counterRoundTrip(wsUrl: string, key: string): Promise<{ ackSeq: number; view: Json; viewSeq: number }> {
  const client = new AdamaClient({ url: wsUrl, identity: `anonymous:image-${key}`, WebSocket: WebSocket as unknown as WebSocketFactory });
  try {
    await client.createDocument('counter', key, { start: 1 });
    const three = viewWhere((v) => (v as { value?: number }).value === 3);
    const doc = client.connect('counter', key, { onView: three.onView });
    await doc.ready;
    const { seq } = await doc.send('add', { by: 2 });
    const { view, seq: viewSeq } = await three.seen;
    return { ackSeq: seq, view, viewSeq };
  } finally {
    client.close();
  }
}

/** Every path under `root` (relative), not descending into `skip` folders. */
function walk(root: string, skip: (rel: string) => boolean): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      const rel = relative(root, full);
      if (skip(rel)) continue;
      out.push(entry.isDirectory() ? `${rel}/` : rel);
      if (entry.isDirectory()) visit(full);
    }
  };
  visit(root);
  return out;
}

describeIfImage(`the built image (${IMAGE ?? 'IMAGE_UNDER_TEST unset'})`, () => {
  let facts: ImageFacts;
  const containers: WorkingContainer[] = [];
  const container = async () => { const c = await WorkingContainer.create(IMAGE!); containers.push(c); return c; };

  beforeAll(async () => { facts = await inspectImage(IMAGE!); }, 60_000);
  afterAll(async () => { await Promise.all(containers.map((c) => c.remove())); }, 60_000);

  describe('every role', () => {
    let c: WorkingContainer;
    beforeAll(async () => { c = await container(); }, 60_000);

    it('enters through the adama CLI as the non-root user of the pod security context', () => {
      expect(facts.entrypoint).toEqual(['node', '--no-node-snapshot', '/app/dist/services/cli/main.js']);
      expect(facts.user).toBe('10001:10001');
    });

    // The roles from the CLI's own registry, so a new command is checked without editing this file.
    it.each(COMMANDS.map((cmd) => [cmd.name]))('adama %s --help exits 0 with its flags', async (name) => {
      const command = COMMANDS.find((cmd) => cmd.name === name)!;
      const r = await c.exec([name, '--help']);
      expect(r).toMatchObject({ code: 0 }); // on failure jest prints the whole result, stderr included
      expect(r.stdout).toContain(`usage: adama ${name}`);
      for (const flag of Object.keys(command.flags)) expect(r.stdout).toContain(`--${flag}`);
    }, 60_000);

    it('the default command (CMD help) lists every role and exits 0', async () => {
      const r = await c.exec(['help']);
      expect(r.code).toBe(0);
      for (const cmd of COMMANDS) expect(r.stdout).toContain(`  ${cmd.name}`);
    }, 60_000);
  });

  it('dev serves the demo page and a working WebSocket to a client outside the image', async () => {
    const c = await container();
    // Port 0: the kernel picks a free one and dev.ready says which. The data dir is inside the
    // container (the user 10001 cannot write /app).
    const dev = await c.spawn(['dev', '--port', '0', '--data-dir', '/tmp/adama-dev'], 'dev.ready', {}, 120_000);
    const port = dev.ready.port as number;
    expect(dev.ready.url).toBe(`http://127.0.0.1:${port}/`);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const script = /<script[^>]*src="\/?([^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const bundle = await fetch(`http://127.0.0.1:${port}/${script}`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(1000);
    const r = await counterRoundTrip(`ws://127.0.0.1:${port}/ws`, 'dev');
    expect(r.view).toEqual({ value: 3 });
    expect(r.viewSeq).toBeGreaterThanOrEqual(r.ackSeq);
  }, 180_000);

  it('a host and a web-proxy from the image form a split cluster on PostgreSQL that a client uses through the proxy', async () => {
    const storage = await freshStorage(2, POSTGRES);
    try {
      await deploySpacesFromDir(storage.data, DEFAULT_SPACES_DIR);
      const db = ['--database-url', storage.connectionString];
      const env = { ADAMA_LOG_LEVEL: 'info' };
      const host = await (await container()).spawn(['host', '--host-id', 'image-host-1', '--port', '0', '--insecure-internal', 'true', ...db], 'host.ready', env, 120_000);
      const proxy = await (await container()).spawn(['proxy', '--port', '0', '--membership-poll-ms', '200', '--allow-anonymous', 'true', '--insecure-internal', 'true', ...db], 'proxy.ready', env, 120_000);
      const r = await counterRoundTrip(String(proxy.ready.ws), 'split');
      expect(r.view).toEqual({ value: 3 });
      // The document lives on the image's host, and the acknowledged change is in its log on
      // PostgreSQL: the client went proxy -> gRPC -> host -> SQL, all inside the image.
      expect(host.ready.host).toBe('image-host-1');
      const ref = { space: 'counter', key: 'split' };
      expect(await storage.data.lookup(ref)).toMatchObject({ host: 'image-host-1', state: 'bound', headSeq: r.ackSeq });
      expect((await storage.data.readLog(ref, 0, r.ackSeq)).map((rec) => rec.seq)).toContain(r.ackSeq);
    } finally {
      await storage.close();
    }
  }, 240_000);

  describe('what the image holds', () => {
    let root: string;
    beforeAll(async () => { root = await (await container()).mount(); }, 60_000);

    it(`is under ${MAX_IMAGE_BYTES / 1e6} MB`, () => {
      console.log(`image ${IMAGE}: ${(facts.sizeBytes / 1e6).toFixed(0)} MB, base layer ${(facts.baseLayerBytes / 1e6).toFixed(0)} MB`);
      expect(facts.sizeBytes).toBeGreaterThan(0);
      expect(facts.sizeBytes).toBeLessThan(MAX_IMAGE_BYTES);
    });

    it('/app is dist, production node_modules, package.json, proto and the example spaces', () => {
      expect(readdirSync(join(root, 'app')).sort()).toEqual(['dist', 'examples', 'node_modules', 'package.json', 'proto']);
      expect(readdirSync(join(root, 'app', 'examples'))).toEqual(['spaces']);
      expect(statSync(join(root, 'app', 'dist', 'services', 'cli', 'main.js')).isFile()).toBe(true);
      expect(statSync(join(root, 'app', 'dist', 'public', 'index.html')).isFile()).toBe(true);
    });

    it('holds none of our tests, benchmarks or test fixtures', () => {
      const ours = walk(join(root, 'app'), (rel) => rel === 'node_modules');
      expect(ours.filter((p) => /(^|\/)(test|bench)\/$/.test(p))).toEqual([]);
      expect(ours.filter((p) => /\.(test|bench|contract|contract-fixtures)\.(js|ts|js\.map)$/.test(p))).toEqual([]);
      expect(ours.filter((p) => /jest/i.test(p))).toEqual([]);
    });

    it('holds no dev-only package (jest, typescript, esbuild, swc, Colyseus ...): the lockfile marks each "dev"', () => {
      const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
      const devOnly = Object.entries(lock.packages).filter(([path, p]) => path !== '' && p.dev === true).map(([path]) => path);
      expect(devOnly.length).toBeGreaterThan(100);
      const present = devOnly.filter((path) => { try { statSync(join(root, 'app', path)); return true; } catch { return false; } });
      expect(present).toEqual([]);
      for (const tool of ['jest', '@jest', 'typescript', 'esbuild', '@swc', '@colyseus']) {
        expect(readdirSync(join(root, 'app', 'node_modules'))).not.toContain(tool);
      }
    });
  });
});
