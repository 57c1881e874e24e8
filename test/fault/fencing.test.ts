/**
 * Split brain: two hosts on one database both believe they own a document. The fenced append
 * lets exactly one keep writing; the other is refused, sheds the document and tells its streams
 * to move; the final state equals the log.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DocumentHost } from '../../services/adama-host/document-host';
import type { StreamSink } from '../../services/protocol/host-api';
import { apply, decode } from '../../services/protocol/delta';
import type { Delta } from '../../services/protocol/messages';
import { createIsolatedSandbox } from '../../services/runtime/isolated-sandbox';
import { systemClock } from '../../services/shared/clock';
import { hostDefaults, resolveConfig } from '../../services/shared/config';
import { E, type ErrorBody } from '../../services/shared/errors';
import type { Json } from '../../services/shared/json';
import { silentLogger } from '../../services/shared/log';
import type { DataService } from '../../services/storage/data-service';
import { DEFAULT_SPACES_DIR } from '../../services/cli/dev-cluster';
import { freshStorage } from '../support/databases';

const who = { agent: 'tester', authority: 'anonymous' };
const ref = { space: 'counter', key: 'contested' };

function host(hostId: string, data: DataService): DocumentHost {
  return new DocumentHost({ hostId, data, sandboxFactory: createIsolatedSandbox, clock: systemClock, log: silentLogger, config: resolveConfig(hostDefaults, {}, {}) });
}

function recordingSink(): StreamSink & { deltas: Delta[]; closed: Promise<ErrorBody> } {
  let onClosed!: (e: ErrorBody) => void;
  const closed = new Promise<ErrorBody>((r) => (onClosed = r));
  const deltas: Delta[] = [];
  return { deltas, closed, onDelta: (d) => deltas.push(d), onClosed };
}

describe('fencing between two hosts that both loaded one document', () => {
  let storage: Awaited<ReturnType<typeof freshStorage>>;
  beforeAll(async () => {
    storage = await freshStorage();
    await storage.data.deploySpace('counter', readFileSync(join(DEFAULT_SPACES_DIR, 'counter', 'index.js'), 'utf8'));
  });
  afterAll(async () => { await storage.close(); });

  it('lets only the newest owner write; the stale one is refused, sheds and closes its streams with a retryable code', async () => {
    // host-a never registers a lease, so membership (the hosts table) says it is dead and
    // host-b may take the document over while host-a still holds it in memory.
    const a = host('host-a', storage.data);
    const b = host('host-b', storage.data);
    await a.createDocument(ref, who, {});
    const sinkA = recordingSink();
    const streamA = await a.openStream(ref, who, { viewerState: {} }, sinkA);
    for (let i = 0; i < 3; i++) await streamA.send('add', { by: 1 }, `a-${i}`);

    const sinkB = recordingSink();
    const streamB = await b.openStream(ref, who, { viewerState: {} }, sinkB);
    expect(sinkB.deltas[0]).toMatchObject({ data: { value: 3 }, reset: true });

    await expect(streamA.send('add', { by: 100 }, 'a-stale')).rejects.toMatchObject({ entry: E.APPEND_FENCED });
    expect(await sinkA.closed).toMatchObject({ code: E.APPEND_FENCED.code, retry: true });
    await expect(streamA.send('add', { by: 100 }, 'a-after')).rejects.toMatchObject({ entry: E.DOC_UNLOADED });

    const { seq } = await streamB.send('add', { by: 1 }, 'b-0');
    const row = await storage.data.lookup(ref);
    expect(row).toMatchObject({ host: 'host-b', epoch: 2, headSeq: seq });

    // The final state equals a replay of the whole log, and the log is gapless.
    const { snapshot, records } = await storage.data.load(ref);
    expect(snapshot).toBeNull();
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    let state: Json = null;
    for (const r of records) state = apply(state, r.redo);
    expect(decode(state)).toEqual({ value: 4 });
    expect(records.some((r) => JSON.stringify(r.request).includes('a-stale'))).toBe(false);

    await a.shutdown();
    await b.shutdown();
  });

  it('redirects a host asked for a document that a live host owns', async () => {
    const c = host('host-c', storage.data);
    const d = host('host-d', storage.data);
    await storage.data.heartbeatHost('host-c', 'in-test', 60_000);
    await c.createDocument({ space: 'counter', key: 'owned' }, who, {});
    await expect(d.openStream({ space: 'counter', key: 'owned' }, who, { viewerState: {} }, recordingSink())).rejects.toMatchObject({ entry: E.OWNED_ELSEWHERE });
    await c.shutdown();
    // After a graceful shutdown the binding is released, so another host may load it at once.
    const stream = await d.openStream({ space: 'counter', key: 'owned' }, who, { viewerState: {} }, recordingSink());
    await expect(stream.send('add', {}, undefined)).resolves.toMatchObject({ seq: 2 }); // create=1; counter has no connect record
    await d.shutdown();
  });
});
