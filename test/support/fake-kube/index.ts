/**
 * @module fake-kube
 * An in-process fake Kubernetes API server for tests: the real `@kubernetes/client-node` talks to
 * it over HTTP on loopback. Wiring only; semantics live in the modules, and README.md lists what
 * is modelled and what is not.
 *
 *   const fake = await startFakeKube();
 *   const kc = fake.kubeConfig('adama');
 *   const apps = kc.makeApiClient(AppsV1Api);
 *   …
 *   await fake.settled();            // controllers, GC and kubelet have caught up
 *   await fake.close();
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { buildCrd } from '../../../operator/api/v1alpha1/crd';
import { Api, type DeleteOptions, type ListOptions } from './api';
import { Background } from './background';
import type { ManagerEntry } from './field-managers';
import { Faults, type FaultRule } from './faults';
import { GarbageCollector } from './garbage-collector';
import { createHttpServer, type RequestRecord } from './http-server';
import { clone, isObject, type JsonObject } from './json';
import { defaultKubelet, KubeletSimulator, type Kubelet } from './kubelet';
import type { PatchType } from './patches';
import { Registry, type ResourceType } from './registry';
import { asKube, Store, type KubeObject, type StoreEvent } from './store';
import { Watches } from './watch';
import { Jobs } from './jobs';
import { Workloads } from './workloads';

export { ApiError } from './errors';
export { expectStatus, statusOf } from './client-errors';
export type { Status, StatusReason } from './errors';
export type { FaultRule } from './faults';
export type { Kubelet, PodObject, PodRuntimeReport } from './kubelet';
export type { KubeObject, ObjectMeta, OwnerReference, StoreEvent } from './store';
export type { ManagerEntry } from './field-managers';
export type { RequestRecord } from './http-server';
export { templateRevision } from './workloads';

export interface FakeKubeOptions {
  /** Runs pods (default: unique loopback IPs, ready at once, nothing to stop). */
  kubelet?: Kubelet;
  /** Interval of BOOKMARK events on watches that allow them (default 1000). */
  bookmarkIntervalMs?: number;
  /** CustomResourceDefinitions to serve (default: the AdamaCluster CRD from operator/api/v1alpha1/crd.ts). */
  crds?: object[];
  /** Change events kept for watches to resume from (default 10000); older resourceVersions get 410. */
  historySize?: number;
  /** Deployments report ready replicas (default true); `setDeploymentReady` overrides per object. */
  deploymentsReady?: boolean;
  /** Create a namespace on first use (default true); false answers 404 as a real server does. */
  autoCreateNamespaces?: boolean;
  /** Clock for timestamps (default `new Date()`). */
  now?: () => Date;
}

/** `{ apiVersion, kind }`, or a resource path such as `apps/v1/statefulsets` or `v1/pods`. */
export type TypeRef = { apiVersion: string; kind: string } | string;

export interface FakeKube {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The bearer token the server requires (401 without it). */
  readonly token: string;
  /** A client-node KubeConfig for this server, its context defaulting to `namespace`. */
  kubeConfig(namespace?: string): KubeConfig;

  /** Every HTTP request, in arrival order (path without the query). */
  readonly requests: RequestRecord[];
  /** Failures of the fake's own background work (GC, controllers, kubelet hooks), oldest first. */
  readonly errors: readonly Error[];

  // Direct access, no HTTP, same semantics (admission, RV, finalizers, GC) as the REST verbs.
  get(type: TypeRef, namespace: string, name: string): KubeObject | undefined;
  list(type: TypeRef, namespace?: string, opts?: ListOptions): KubeObject[];
  create(object: object, opts?: { manager?: string }): KubeObject;
  /** PUT semantics: a stale `metadata.resourceVersion` is a Conflict, none is unconditional. */
  update(object: object, opts?: { manager?: string }): KubeObject;
  updateStatus(object: object, opts?: { manager?: string }): KubeObject;
  patch(type: TypeRef, namespace: string, name: string, patch: unknown, opts?: { patchType?: Exclude<PatchType, 'apply'>; status?: boolean; manager?: string }): KubeObject;
  apply(object: object, opts: { manager: string; force?: boolean; status?: boolean }): KubeObject;
  delete(type: TypeRef, namespace: string, name: string, opts?: DeleteOptions): void;
  /** Stores an object as-is (no defaulting or validation), e.g. one written before a CRD default existed. */
  insertRaw(object: object): KubeObject;
  /** Field ownership as server-side apply tracks it (not exposed as metadata.managedFields). */
  managedFields(type: TypeRef, namespace: string, name: string): ManagerEntry[];
  resolve(type: TypeRef): ResourceType;

  setPodReady(namespace: string, name: string, ready: boolean): void;
  setDeploymentReady(namespace: string, name: string, ready: boolean): void;

  fault(rule: FaultRule): void;
  clearFaults(): void;
  /** Every open watch gets ERROR 410 Expired and ends; resourceVersions before now are compacted. */
  expireWatches(): void;
  /** Destroys every open watch connection abruptly (no final event). */
  dropWatches(): void;
  openWatches(): number;
  /** Destroys every open connection (watches, keep-alive sockets, requests in flight) without a response. */
  dropConnections(): void;
  /**
   * An API-server restart: stops listening and drops every connection (new connections are refused),
   * then listens again on the same port once `downMs` passed (or when the returned `resume` is
   * called). The store survives, as etcd does: watches resume from their resourceVersion.
   */
  restart(downMs?: number): Promise<{ resume(): Promise<void> }>;

  /** Store change events, synchronously after each write. Returns an unsubscribe function. */
  onChange(listener: (e: StoreEvent) => void): () => void;
  /** Resolves with the first truthy value of `probe`, evaluated now, after each store change and when a watch opens or closes. */
  waitFor<T>(probe: () => T | undefined | null | false, opts?: { timeoutMs?: number; what?: string }): Promise<T>;
  /** Resolves once the fake's background work is done; rejects with a failure it hit. */
  settled(timeoutMs?: number): Promise<void>;
  /** Stops every started pod through the kubelet hook, ends watches, closes the server. */
  close(): Promise<void>;
}

export async function startFakeKube(options: FakeKubeOptions = {}): Promise<FakeKube> {
  const now = options.now ?? (() => new Date());
  const background = new Background();
  const registry = new Registry((options.crds ?? [buildCrd()]).map((c) => clone(c) as JsonObject));
  const store = new Store(options.historySize ?? 10_000, (e) => background.fail('store listener', e));
  let nextServiceIP = 10;
  const api = new Api(registry, store, {
    now,
    allocateClusterIP: () => { const n = nextServiceIP++; return `10.96.${Math.floor(n / 256)}.${n % 256}`; },
    autoCreateNamespaces: options.autoCreateNamespaces ?? true,
  });
  const nsType = registry.byKind('v1', 'Namespace');
  for (const name of ['default', 'kube-system']) api.create(nsType, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { manager: 'fake-kube' });

  const gc = new GarbageCollector(api, background);
  const kubelet = new KubeletSimulator(api, background, options.kubelet ?? defaultKubelet(), now);
  const workloads = new Workloads(api, background, options.deploymentsReady ?? true, now);
  const jobs = new Jobs(api, background, now);
  // waitFor probes re-run on every store change and whenever a watch opens or closes.
  const probes = new Set<() => void>();
  const reprobe = (): void => { for (const p of [...probes]) p(); };
  store.subscribe(reprobe);
  const watches = new Watches(api, options.bookmarkIntervalMs ?? 1000, reprobe);
  const faults = new Faults();
  const requests: RequestRecord[] = [];
  const token = randomBytes(16).toString('hex');
  const server = createHttpServer({ api, watches, faults, token, requests, onInternalError: (e) => background.fail('http handler', e) });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
  const listen = (port: number) => new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); }); });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const dropConnections = (): void => { for (const s of [...sockets]) s.destroy(); };
  /** While restarting: when the server listens again by itself. */
  let downTimer: NodeJS.Timeout | undefined;
  let restarting = false;

  const resolve = (t: TypeRef): ResourceType => (typeof t === 'string' ? registry.byPath(t) : registry.byKind(t.apiVersion, t.kind));
  const typeOfObject = (o: object): { type: ResourceType; json: JsonObject; namespace: string; name: string } => {
    const json = clone(o) as JsonObject;
    if (typeof json['apiVersion'] !== 'string' || typeof json['kind'] !== 'string') throw new Error('fake-kube: object needs apiVersion and kind');
    const type = registry.byKind(json['apiVersion'], json['kind']);
    const meta = isObject(json['metadata']) ? json['metadata'] : {};
    const namespace = type.namespaced ? (typeof meta['namespace'] === 'string' && meta['namespace'] ? meta['namespace'] : 'default') : '';
    return { type, json, namespace, name: typeof meta['name'] === 'string' ? meta['name'] : '' };
  };
  const direct = 'fake-kube-test';

  const fake: FakeKube = {
    url, token, requests,
    get errors() { return background.history; },
    kubeConfig(namespace = 'default') {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
        users: [{ name: 'fake', token }],
        contexts: [{ name: 'fake', cluster: 'fake', user: 'fake', namespace }],
        currentContext: 'fake',
      });
      return kc;
    },
    get: (t, namespace, name) => {
      const type = resolve(t);
      const o = store.get(type, type.namespaced ? namespace : '', name);
      return o ? api.present(type, o) : undefined;
    },
    list: (t, namespace, opts = {}) => {
      const type = resolve(t);
      const match = api.matcher(type, opts);
      return store.list(type, namespace).filter(match).map((o) => api.present(type, o));
    },
    create: (o, opts = {}) => { const x = typeOfObject(o); return api.create(x.type, x.namespace, x.json, { manager: opts.manager ?? direct }); },
    update: (o, opts = {}) => { const x = typeOfObject(o); return api.replace(x.type, x.namespace, x.name, x.json, '', { manager: opts.manager ?? direct }); },
    updateStatus: (o, opts = {}) => { const x = typeOfObject(o); return api.replace(x.type, x.namespace, x.name, x.json, 'status', { manager: opts.manager ?? direct }); },
    patch: (t, namespace, name, patch, opts = {}) => api.patch(resolve(t), namespace, name, opts.patchType ?? 'merge', clone(patch), opts.status ? 'status' : '', { manager: opts.manager ?? direct, explicitManager: true }),
    apply: (o, opts) => {
      const x = typeOfObject(o);
      return api.patch(x.type, x.namespace, x.name, 'apply', x.json, opts.status ? 'status' : '', { manager: opts.manager, explicitManager: true, force: opts.force ?? false });
    },
    delete: (t, namespace, name, opts = {}) => { api.delete(resolve(t), namespace, name, opts); },
    insertRaw: (o) => {
      const x = typeOfObject(o);
      const meta = isObject(x.json['metadata']) ? x.json['metadata'] : {};
      x.json['metadata'] = { uid: `raw-${randomBytes(6).toString('hex')}`, creationTimestamp: now().toISOString().replace(/\.\d+Z$/, 'Z'), ...(x.type.generation ? { generation: 1 } : {}), ...meta, ...(x.type.namespaced ? { namespace: x.namespace } : {}) };
      return clone(store.put(x.type, asKube(x.json)));
    },
    managedFields: (t, namespace, name) => {
      const o = fake.get(t, namespace, name);
      return o?.metadata.uid ? api.managers.entries(o.metadata.uid) : [];
    },
    resolve,
    setPodReady: (namespace, name, ready) => kubelet.setReady(namespace, name, ready),
    setDeploymentReady: (namespace, name, ready) => workloads.setDeploymentReady(namespace, name, ready),
    fault: (rule) => faults.add(rule),
    clearFaults: () => faults.clear(),
    expireWatches: () => { store.compact(); watches.expireAll(); },
    dropWatches: () => watches.dropAll(),
    dropConnections,
    restart: async (downMs) => {
      if (restarting) throw new Error('fake-kube: already restarting');
      restarting = true;
      const closed = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      dropConnections();
      await closed;
      let resumed: Promise<void> | undefined;
      const resume = () => (resumed ??= (async () => {
        clearTimeout(downTimer);
        downTimer = undefined;
        await listen(port);
        restarting = false;
      })());
      downTimer = setTimeout(() => { void resume(); }, downMs ?? 1_000);
      return { resume };
    },
    openWatches: () => watches.count(),
    onChange: (listener) => store.subscribe(listener),
    waitFor: <T>(probe: () => T | undefined | null | false, opts: { timeoutMs?: number; what?: string } = {}) => new Promise<T>((resolveWait, rejectWait) => {
      const check = (): boolean => {
        try {
          const v = probe();
          if (v !== undefined && v !== null && v !== false) { done(); resolveWait(v); return true; }
        } catch (e) { done(); rejectWait(e); return true; }
        return false;
      };
      const listener = (): void => { check(); };
      probes.add(listener);
      const unsubscribe = (): void => { probes.delete(listener); };
      const timer = setTimeout(() => { done(); rejectWait(new Error(`fake-kube waitFor timed out after ${opts.timeoutMs ?? 10_000} ms${opts.what ? `: ${opts.what}` : ''}`)); }, opts.timeoutMs ?? 10_000);
      const done = (): void => { unsubscribe(); clearTimeout(timer); };
      check();
    }),
    settled: (timeoutMs = 10_000) => background.settled(timeoutMs),
    close: async () => {
      background.close();
      gc.stop();
      workloads.stop();
      jobs.stop();
      clearTimeout(downTimer);
      watches.closeAll();
      await kubelet.stopAll();
      await new Promise<void>((resolveClose) => { server.close(() => resolveClose()); server.closeAllConnections(); });
    },
  };
  return fake;
}

