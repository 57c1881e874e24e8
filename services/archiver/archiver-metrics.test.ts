/**
 * The archiver's and the hosts' Prometheus instruments move with the work: a real Telemetry on a
 * free port, scraped after an archive pass (ArchiverLoop), an admin ArchiveNow that is skipped,
 * and host restores that succeed or find the object missing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SPACES_DIR } from '../cli/dev-cluster';
import { systemClock } from '../shared/clock';
import { E } from '../shared/errors';
import { silentLogger } from '../shared/log';
import { startTelemetry, type Telemetry } from '../shared/telemetry';
import { freshStorage } from '../../test/support/databases';
import { coldCounter, connect, newArchiver } from '../../test/support/archive-scenarios';
import { ArchiverLoop } from './archiver-loop';
import { resolveArchiverConfig } from './archiver-plan';
import { FsObjectStore } from './fs-object-store';

describe('archiver and restore metrics', () => {
  let storage: Awaited<ReturnType<typeof freshStorage>>;
  let dir: string;
  let store: FsObjectStore;
  let telemetry: Telemetry;
  beforeAll(async () => {
    storage = await freshStorage();
    await storage.data.deploySpace('counter', readFileSync(join(DEFAULT_SPACES_DIR, 'counter', 'index.js'), 'utf8'));
    dir = mkdtempSync(join(tmpdir(), 'adama-archiver-metrics-'));
    store = new FsObjectStore(dir);
    telemetry = await startTelemetry({ service: 'adama-archiver', instance: 'test', metricsPort: 0, log: silentLogger });
  });
  afterAll(async () => {
    await telemetry?.shutdown();
    await storage?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const scrape = async (): Promise<string> => {
    const res = await fetch(`http://127.0.0.1:${telemetry.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };
  /** The value of an unlabelled series, or undefined when it was never recorded. */
  const value = (text: string, name: string): number | undefined => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };

  it('counts archived documents, bytes, lag, skips, restores and their failures', async () => {
    const { data } = storage;
    const a = await coldCounter(data, 'metrics-a', 3);
    const b = await coldCounter(data, 'metrics-b', 2);
    const config = resolveArchiverConfig({ idleMs: 0, claimLeaseMs: 30_000, gcGraceMs: 30_000, docsPerSecond: 1000 });
    const archiver = newArchiver(data, store, undefined, telemetry.metrics);
    const loop = new ArchiverLoop({ archiver, data, clock: systemClock, log: silentLogger, workerId: 'test-archiver', config });

    const pass = await loop.runPass();
    expect(pass).toMatchObject({ claimed: 2, archived: 2, failed: 0 });
    expect(await data.lookup(a)).toMatchObject({ state: 'archived' });

    // A bound document is skipped, not archived.
    const held = await coldCounter(data, 'metrics-held', 1);
    const holder = await connect(data, store, held);
    expect(await archiver.archiveNow(held)).toMatchObject({ kind: 'skipped' });
    await holder.host.shutdown();

    // One restore succeeds; one finds its object gone.
    const restoredA = await connect(data, store, a, telemetry.metrics);
    expect(restoredA.view).toEqual({ value: 3 });
    await restoredA.host.shutdown();
    await store.delete((await data.lookup(b))!.archiveRef!);
    await expect(connect(data, store, b, telemetry.metrics)).rejects.toMatchObject({ entry: E.ARCHIVE_MISSING });

    const text = await scrape();
    expect(text).toMatch(/^adama_archiver_documents_archived_total 2$/m);
    expect(text).toMatch(/^adama_archiver_documents_skipped_total 1$/m);
    expect(value(text, 'adama_archiver_failures_total') ?? 0).toBe(0);
    expect(value(text, 'adama_archiver_bytes_written_total')).toBe(archiver.counters.bytesWritten);
    expect(archiver.counters.bytesWritten).toBeGreaterThan(0);
    expect(text).toMatch(/^adama_archiver_lag_ms_count 2$/m);
    expect(text).toMatch(/^adama_documents_restored_total\{result="ok"[^}]*\} 1$/m);
    expect(text).toMatch(/^adama_documents_restored_total\{result="missing"[^}]*\} 1$/m);
    expect(text).toMatch(/^adama_document_restore_ms_count 2$/m);
    expect(text).toMatch(/^# HELP adama_archiver_documents_archived_total Documents the archiver moved/m);
  });
});
