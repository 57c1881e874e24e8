/**
 * Watches on the fake API server through client-node's Watch and informer: synthetic ADDED,
 * resume from a resourceVersion, selector transitions, 410 Expired (in-stream ERROR), bookmarks,
 * server-side timeouts, dropped connections, and an informer relisting after compaction.
 */
import { CoreV1Api, CustomObjectsApi, makeInformer, Watch, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../../operator/api/v1alpha1/types';
import { startFakeKube, type FakeKube } from '../support/fake-kube';

interface Seen { type: string; object: { kind?: string; code?: number; reason?: string; metadata?: { name?: string; resourceVersion?: string; labels?: Record<string, string> } } }

/** Records a client-node watch; `next` awaits an event (already received or coming), never sleeping. */
class Recorder {
  readonly events: Seen[] = [];
  readonly done: Promise<unknown>;
  private readonly listeners = new Set<() => void>();
  private controller?: AbortController;
  private finish!: (err: unknown) => void;

  private constructor() {
    this.done = new Promise((resolve) => { this.finish = resolve; });
  }

  static async open(kc: KubeConfig, path: string, params: Record<string, string | number | boolean> = {}): Promise<Recorder> {
    const r = new Recorder();
    r.controller = await new Watch(kc).watch(path, params, (type, object: Seen['object']) => {
      r.events.push({ type, object });
      r.listeners.forEach((l) => l());
    }, (err) => r.finish(err ?? null));
    return r;
  }

  next(match: (e: Seen) => boolean, from = 0): Promise<Seen> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const hit = this.events.slice(from).find(match);
        if (hit) { this.listeners.delete(listener); resolve(hit); }
        return !!hit;
      };
      const listener = (): void => { check(); };
      if (!check()) this.listeners.add(listener);
    });
  }

  named(type: string, name: string): Promise<Seen> {
    return this.next((e) => e.type === type && e.object.metadata?.name === name);
  }

  summary(): string[] { return this.events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`); }

  stop(): void { this.controller?.abort(); }
}

let fake: FakeKube;
let kc: KubeConfig;
let core: CoreV1Api;
const recorders: Recorder[] = [];
const open = async (path: string, params: Record<string, string | number | boolean> = {}) => {
  const r = await Recorder.open(kc, path, params);
  recorders.push(r);
  return r;
};

beforeAll(async () => {
  fake = await startFakeKube({ bookmarkIntervalMs: 50 });
  kc = fake.kubeConfig('w');
  core = kc.makeApiClient(CoreV1Api);
});
afterEach(() => { recorders.splice(0).forEach((r) => r.stop()); });
afterAll(async () => { await fake.close(); });

const cm = (name: string, labels: Record<string, string> = {}): V1ConfigMap => ({ metadata: { name, labels }, data: {} });
const path = (ns: string) => `/api/v1/namespaces/${ns}/configmaps`;

describe('watch', () => {
  it('starts with synthetic ADDED for current objects when resourceVersion is unset, then streams changes', async () => {
    await core.createNamespacedConfigMap({ namespace: 'w1', body: cm('before') });
    const r = await open(path('w1'));
    await r.named('ADDED', 'before');
    await core.createNamespacedConfigMap({ namespace: 'w1', body: cm('after') });
    await core.patchNamespacedConfigMap({ namespace: 'w1', name: 'after', body: [{ op: 'add', path: '/data', value: { x: '1' } }] });
    await core.deleteNamespacedConfigMap({ namespace: 'w1', name: 'before' });
    await r.named('DELETED', 'before');
    expect(r.summary()).toEqual(['ADDED before', 'ADDED after', 'MODIFIED after', 'DELETED before']);
    expect(r.events[1]!.object.kind).toBe('ConfigMap');
  });

  it('resumes after a list resourceVersion with only later events; DELETED carries a newer resourceVersion', async () => {
    await core.createNamespacedConfigMap({ namespace: 'w2', body: cm('old') });
    const list = await core.listNamespacedConfigMap({ namespace: 'w2' });
    await core.createNamespacedConfigMap({ namespace: 'w2', body: cm('missed-while-away') });
    const r = await open(path('w2'), { resourceVersion: list.metadata!.resourceVersion! });
    await r.named('ADDED', 'missed-while-away');
    const deleted = await core.deleteNamespacedConfigMap({ namespace: 'w2', name: 'old' });
    expect(deleted.status).toBe('Success');
    const event = await r.named('DELETED', 'old');
    expect(Number(event.object.metadata?.resourceVersion)).toBeGreaterThan(Number(list.metadata!.resourceVersion));
    expect(r.summary()).toEqual(['ADDED missed-while-away', 'DELETED old']);
  });

  it('turns selector transitions into DELETED and ADDED for that watch', async () => {
    const r = await open(path('w3'), { labelSelector: 'role=web' });
    await core.createNamespacedConfigMap({ namespace: 'w3', body: cm('flip', { role: 'web' }) });
    await core.createNamespacedConfigMap({ namespace: 'w3', body: cm('never', { role: 'db' }) });
    await core.replaceNamespacedConfigMap({ namespace: 'w3', name: 'flip', body: cm('flip', { role: 'db' }) });
    const out = await r.named('DELETED', 'flip');
    expect(out.object.metadata?.labels).toEqual({ role: 'db' });
    await core.replaceNamespacedConfigMap({ namespace: 'w3', name: 'flip', body: cm('flip', { role: 'web' }) });
    await r.next((e) => e.type === 'ADDED' && e.object.metadata?.name === 'flip', 1);
    expect(r.summary()).toEqual(['ADDED flip', 'DELETED flip', 'ADDED flip']);
  });

  it('watches one object through a metadata.name field selector, across namespaces', async () => {
    const r = await open('/api/v1/configmaps', { fieldSelector: 'metadata.name=target' });
    await core.createNamespacedConfigMap({ namespace: 'w4', body: cm('other') });
    await core.createNamespacedConfigMap({ namespace: 'w5', body: cm('target') });
    await r.named('ADDED', 'target');
    expect(r.summary()).toEqual(['ADDED target']);
  });

  it('watches custom resources', async () => {
    const r = await open(`/apis/${GROUP}/${VERSION}/namespaces/w6/${PLURAL}`);
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: GROUP, version: VERSION, plural: PLURAL, namespace: 'w6',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'AdamaCluster', metadata: { name: 'c' }, spec: { image: 'x:1', postgres: { secretRef: { name: 'db' } } } },
    });
    const added = await r.named('ADDED', 'c');
    expect(added.object.kind).toBe('AdamaCluster');
  });
});

describe('expiry and connection loss', () => {
  it('sends open watches ERROR 410 Expired on compaction and ends them; older resourceVersions get the same in a 200', async () => {
    const before = await core.createNamespacedConfigMap({ namespace: 'w7', body: cm('a') });
    const r = await open(path('w7'), { resourceVersion: before.metadata!.resourceVersion! });
    await core.createNamespacedConfigMap({ namespace: 'w7', body: cm('a2') });
    await r.named('ADDED', 'a2');
    fake.expireWatches();
    const error = await r.next((e) => e.type === 'ERROR');
    expect(error.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect(await r.done).toBeNull();
    expect(fake.openWatches()).toBe(0);

    const late = await open(path('w7'), { resourceVersion: before.metadata!.resourceVersion! });
    expect(await late.done).toBeNull();
    expect(late.events).toEqual([{ type: 'ERROR', object: expect.objectContaining({ code: 410, reason: 'Expired', message: expect.stringContaining('too old resource version') }) }]);

    const fresh = await core.listNamespacedConfigMap({ namespace: 'w7' });
    const resumed = await open(path('w7'), { resourceVersion: fresh.metadata!.resourceVersion! });
    await core.createNamespacedConfigMap({ namespace: 'w7', body: cm('b') });
    await resumed.named('ADDED', 'b');
  });

  it('compacts history beyond historySize', async () => {
    const small = await startFakeKube({ historySize: 3 });
    try {
      const smallKc = small.kubeConfig('h');
      const smallCore = smallKc.makeApiClient(CoreV1Api);
      const first = await smallCore.createNamespacedConfigMap({ namespace: 'h', body: cm('c0') });
      for (let i = 1; i <= 4; i++) await smallCore.createNamespacedConfigMap({ namespace: 'h', body: cm(`c${i}`) });
      const r = await Recorder.open(smallKc, path('h'), { resourceVersion: first.metadata!.resourceVersion! });
      await r.done;
      expect(r.events.map((e) => e.object.code)).toEqual([410]);
    } finally {
      await small.close();
    }
  });

  it('sends BOOKMARK events with the current resourceVersion only when allowed', async () => {
    const withMarks = await open(path('w8'), { allowWatchBookmarks: true });
    const without = await open(path('w8'));
    await core.createNamespacedConfigMap({ namespace: 'w8', body: cm('x') });
    const seen = withMarks.events.length;
    const mark = await withMarks.next((e) => e.type === 'BOOKMARK', seen);
    expect(mark.object).toEqual({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: expect.stringMatching(/^\d+$/) } });
    await withMarks.next((e) => e.type === 'BOOKMARK', withMarks.events.indexOf(mark) + 1);
    expect(without.summary()).toEqual(['ADDED x']);
  });

  it('ends the stream cleanly when timeoutSeconds elapses', async () => {
    const started = Date.now();
    const r = await open(path('w9'), { timeoutSeconds: 1 });
    expect(await r.done).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('drops connections abruptly: the client sees an error, not a clean end', async () => {
    const r = await open(path('w10'));
    await fake.waitFor(() => fake.openWatches() > 0);
    fake.dropWatches();
    expect(await r.done).toBeInstanceOf(Error);
  });
});

describe('informer', () => {
  it('lists, watches, and relists after 410 without reporting an error', async () => {
    const listFn = () => core.listNamespacedConfigMap({ namespace: 'inf' });
    const informer = makeInformer(kc, path('inf'), listFn);
    const added: string[] = [];
    const errors: unknown[] = [];
    informer.on('add', (o) => added.push(o.metadata?.name ?? ''));
    informer.on('error', (e) => errors.push(e));
    await core.createNamespacedConfigMap({ namespace: 'inf', body: cm('one') });
    await informer.start();
    await fake.waitFor(() => added.includes('one') && fake.openWatches() > 0);
    const gets = () => fake.requests.filter((q) => q.method === 'GET' && q.path === path('inf')).length;
    const before = gets();
    fake.expireWatches();
    await core.createNamespacedConfigMap({ namespace: 'inf', body: cm('two') });
    await fake.waitFor(() => added.includes('two') && fake.openWatches() > 0);
    expect(gets() - before).toBe(2); // one relist, one new watch
    expect(errors).toEqual([]);
    await informer.stop();
  });
});
