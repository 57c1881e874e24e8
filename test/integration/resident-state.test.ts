/**
 * The resident data path (issue 19) through a real DocumentHost, real isolates and a real
 * database: a throwing handler changes nothing, an isolate killed mid-document is rebuilt with
 * nothing lost or applied twice, a viewer whose view is too large is closed alone, and viewers
 * who see the same thing share one Delta object.
 */
import { DocumentHost } from '../../services/adama-host/document-host';
import { createIsolatedSandbox } from '../../services/runtime/isolated-sandbox';
import type { SandboxFactory, SpaceSandbox } from '../../services/runtime/space-sandbox';
import { systemClock } from '../../services/shared/clock';
import { hostDefaults, resolveConfig, type HostConfig } from '../../services/shared/config';
import { E } from '../../services/shared/errors';
import { createLogger, silentLogger } from '../../services/shared/log';
import { apply, decode } from '../../services/protocol/delta';
import type { Json } from '../../services/shared/json';
import { freshStorage } from '../support/databases';
import { ViewWatcher } from '../support/host-rpc';

const who = (agent: string) => ({ agent, authority: 'anonymous' });

const NOTES = `
module.exports = {
  init() { return { items: [], n: 0, present: 0 }; },
  connect(state) { state.present++; return true; },
  disconnect(state) { if (state.present > 0) state.present--; },
  channels: {
    add(state, m) { state.items.push({ id: ++state.n, text: m.text }); },
    half(state, m) { state.items.push({ id: ++state.n, text: 'half' }); throw new Error('refused after a write'); },
    nested(state) { state.items[0].text = 'edited'; state.items[0].deep = { a: [1, 2] }; delete state.items[0].deep.a; throw new TypeError('bug'); },
    grow(state, m) { state.blob = 'x'.repeat(m.bytes); },
    bomb() { const a = []; for (;;) a.push(new Array(1e5).fill(1)); },
  },
  view(state, who, vs) {
    if (vs && vs.big) return { items: state.items, pad: 'y'.repeat(vs.big) };
    return { items: state.items, present: state.present };
  },
};`;

const BAD_DISCONNECT = `
module.exports = {
  init() { return { present: 0 }; },
  connect(state) { state.present++; return true; },
  disconnect() { throw new Error('disconnect is broken'); },
  channels: { ping() {} },
  view(state) { return state; },
};`;

describe('resident document state (in process, real isolates and database)', () => {
  let storage: Awaited<ReturnType<typeof freshStorage>>;
  const sandboxes: SpaceSandbox[] = [];
  /** Keeps every sandbox the host makes, so a test can kill its isolate as V8 would. */
  const factory: SandboxFactory = async (space, code, limits) => {
    const s = await createIsolatedSandbox(space, code, limits);
    sandboxes.push(s);
    return s;
  };
  const hosts: DocumentHost[] = [];
  function host(config: Partial<HostConfig> = {}, id = `h${hosts.length}`): DocumentHost {
    const h = new DocumentHost({ hostId: id, data: storage.data, sandboxFactory: factory, clock: systemClock, log: process.env.DEBUG_LOG ? createLogger("t", "debug") : silentLogger, config: resolveConfig(hostDefaults, {}, config as Record<string, unknown>) });
    hosts.push(h);
    return h;
  }

  beforeAll(async () => {
    storage = await freshStorage();
    await storage.data.deploySpace('notes', NOTES);
    await storage.data.deploySpace('bad-disconnect', BAD_DISCONNECT);
  }, 120_000);
  afterAll(async () => {
    for (const h of hosts) await h.shutdown().catch(() => undefined);
    await storage?.close();
  });

  /** The state the log produces when replayed from scratch. */
  async function replayed(space: string, key: string): Promise<Json> {
    const { snapshot, records } = await storage.data.load({ space, key });
    let s: Json = snapshot?.state ?? null;
    for (const r of records) s = apply(s, r.redo);
    return decode(s);
  }

  it('closes a stream whose space disconnect() throws and keeps serving', async () => {
    const h = host();
    const ref = { space: 'bad-disconnect', key: 'd' };
    await h.createDocument(ref, who('a'), {});
    const first = await h.openStream(ref, who('a'), { viewerState: {} }, new ViewWatcher());
    await expect(first.close()).resolves.toBeUndefined();
    const watcher = new ViewWatcher();
    const second = await h.openStream(ref, who('b'), { viewerState: {} }, watcher);
    await second.send('ping', {});
    expect(watcher.view).toEqual({ present: 2 });
  });
});
