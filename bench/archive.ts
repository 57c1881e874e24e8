/**
 * @module archive
 * Archive figures: cold connect (document archived → first delta, i.e. findbind + object fetch +
 * verify + restore snapshot + replay + first view) next to warm connects (document in the hot
 * tables but not loaded; document already loaded on the host), and archive throughput (documents/s
 * through the real Archiver steps, 4 at a time, unpaced). Filesystem object store in a temp dir;
 * real PostgreSQL when DATABASE_URL is set, else embedded PGlite. Wired by bench/run.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DocumentHost } from '../services/adama-host/document-host';
import { Archiver } from '../services/archiver/archiver';
import { resolveArchiverConfig } from '../services/archiver/archiver-plan';
import { FsObjectStore } from '../services/archiver/fs-object-store';
import { DEFAULT_SPACES_DIR } from '../services/cli/dev-cluster';
import { createIsolatedSandbox } from '../services/runtime/isolated-sandbox';
import { systemClock } from '../services/shared/clock';
import { hostDefaults, resolveConfig } from '../services/shared/config';
import { silentLogger } from '../services/shared/log';
import type { DataService } from '../services/storage/data-service';
import type { DocRef } from '../services/shared/doc-ref';
import { openStorage } from '../services/storage/open-storage';
import { summarize, perSecond, formatLatency, formatRate, round } from './stats';

const who = { agent: 'bench', authority: 'anonymous' };
const DOCS = 200;
const CONNECTS = 50;
const SENDS_PER_DOC = 20;

function host(data: DataService, store: FsObjectStore, id: string): DocumentHost {
  return new DocumentHost({ hostId: id, data, sandboxFactory: createIsolatedSandbox, clock: systemClock, log: silentLogger, config: resolveConfig(hostDefaults, {}, {}), objectStore: store });
}

/** Time from openStream to the first delta, in ms. */
async function connectMs(h: DocumentHost, ref: DocRef): Promise<number> {
  const started = performance.now();
  let first = 0;
  await new Promise<void>((resolve, reject) => {
    h.openStream(ref, who, { viewerState: {} }, { onDelta: () => { if (first === 0) { first = performance.now(); resolve(); } }, onClosed: () => undefined }).catch(reject);
  });
  return first - started;
}

/** `databaseUrl`: a fresh database to fill (npm run bench passes one); embedded PGlite when omitted. */
export async function runArchiveBench(databaseUrl?: string): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'adama-bench-archive-'));
  const storage = await openStorage({ databaseUrl });
  const store = new FsObjectStore(dir);
  try {
    const data = storage.data;
    await data.deploySpace('counter', readFileSync(join(DEFAULT_SPACES_DIR, 'counter', 'index.js'), 'utf8'));
    const run = randomBytes(3).toString('hex');
    const refs = Array.from({ length: DOCS }, (_, i) => ({ space: 'counter', key: `bench-${run}-${i}` }));
    const writer = host(data, store, `bench-writer-${run}`);
    for (const ref of refs) {
      await writer.createDocument(ref, who, {});
      const s = await writer.openStream(ref, who, { viewerState: {} }, { onDelta: () => undefined, onClosed: () => undefined });
      for (let i = 0; i < SENDS_PER_DOC; i++) await s.send('add', { by: 1 });
    }
    await writer.shutdown();

    // Warm, hot tables: load from Postgres on a fresh host (these documents are then free again).
    const warmRefs = refs.slice(DOCS - CONNECTS);
    const hotHost = host(data, store, `bench-hot-${run}`);
    const hotMs = []; for (const ref of warmRefs) hotMs.push(await connectMs(hotHost, ref));
    // Warm, loaded: a second viewer on a document already in memory.
    const loadedMs = []; for (const ref of warmRefs) loadedMs.push(await connectMs(hotHost, ref));
    await hotHost.shutdown();

    const archiver = new Archiver({
      data, store, clock: systemClock, log: silentLogger, workerId: `bench-${run}`,
      config: resolveArchiverConfig({ idleMs: 0, concurrency: 4 }),
    });
    const archiveStarted = performance.now();
    const queue = [...refs];
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let ref = queue.shift(); ref; ref = queue.shift()) await archiver.archiveNow(ref);
    }));
    const archiveMs = performance.now() - archiveStarted;
    if (archiver.counters.archived !== DOCS) throw new Error(`archived ${archiver.counters.archived} of ${DOCS}`);

    const coldHost = host(data, store, `bench-cold-${run}`);
    const coldMs = []; for (const ref of refs.slice(0, CONNECTS)) coldMs.push(await connectMs(coldHost, ref));
    await coldHost.shutdown();

    const cold = summarize(coldMs); const hot = summarize(hotMs); const loaded = summarize(loadedMs);
    const docsPerSec = perSecond(DOCS, archiveMs);
    process.stdout.write([
      `archive (${storage.describe.split(' ')[0]}, fs store, ${DOCS} docs of ${SENDS_PER_DOC + 1}+ records, ${CONNECTS} connects each)`,
      `  cold connect (archived → first delta)   ${formatLatency(cold)}`,
      `  warm connect (hot tables, not loaded)   ${formatLatency(hot)}`,
      `  warm connect (already loaded)           ${formatLatency(loaded)}`,
      `  archive throughput                      ${formatRate(docsPerSec, 'docs')} (${Math.round(archiver.counters.bytesWritten / DOCS)} B/object)`,
      '',
    ].join('\n'));
    return {
      cold_connect_p50_ms: round(cold.p50Ms, 2), cold_connect_p99_ms: round(cold.p99Ms, 2),
      warm_hot_connect_p50_ms: round(hot.p50Ms, 2), warm_hot_connect_p99_ms: round(hot.p99Ms, 2),
      warm_loaded_connect_p50_ms: round(loaded.p50Ms, 2),
      archive_docs_per_s: round(docsPerSec, 1),
    };
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runArchiveBench().then((r) => { process.stdout.write(`${JSON.stringify(r)}\n`); }, (err: unknown) => { console.error(err); process.exit(1); });
}
