/**
 * @module client-node-kube
 * `KubeClient` on @kubernetes/client-node: KubernetesObjectApi for reads and writes of any kind
 * (it discovers plurals), CustomObjectsApi for the `/status` subresource, Watch for watches.
 * Results are turned into plain JSON so list and watch objects look the same upstream.
 */
import {
  ApiException, CustomObjectsApi, KubeConfig, KubernetesObjectApi, PatchStrategy, Watch, setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import {
  KubeApiError, type KindRef, type KubeClient, type KubeObject, type ObjectRef, type WatchEvent, type WatchHandle, type WatchOptions,
} from './kube-client';

/** Dates become RFC 3339 strings; class instances become plain objects. */
const plain = <T>(value: unknown): T => JSON.parse(JSON.stringify(value)) as T;

/** Every error out of client-node becomes a KubeApiError (API answers) or stays as is (network). */
function translate(err: unknown): unknown {
  if (err instanceof ApiException) {
    const body = err.body as unknown;
    const parsed = typeof body === 'string' ? safeJson(body) : body;
    const message = (parsed as { message?: string } | undefined)?.message ?? `HTTP ${err.code}`;
    const retryAfter = Number(err.headers?.['retry-after']);
    return new KubeApiError(err.code, message, Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined);
  }
  return err;
}

function safeJson(text: string): unknown {
  try { return JSON.parse(text); } catch { return undefined; }
}

async function call<T>(fn: () => Promise<unknown>): Promise<T> {
  try {
    return plain<T>(await fn());
  } catch (err) {
    throw translate(err);
  }
}

const headerOf = (ref: ObjectRef): KubernetesObject & { metadata: { name: string; namespace: string } } =>
  ({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } });

/** KubernetesObjectApi keeps its discovery (kind → plural, cached) protected; watches need it too. */
class DiscoveringObjectApi extends KubernetesObjectApi {
  discover(kind: KindRef): Promise<{ name: string; namespaced: boolean } | undefined> {
    return this.resource(kind.apiVersion, kind.kind);
  }
}

export class ClientNodeKube implements KubeClient {
  private readonly objects: DiscoveringObjectApi;
  private readonly custom: CustomObjectsApi;
  private readonly watcher: Watch;

  /**
   * @param fieldManager named on every write (create, replace, apply, patch), so the server records
   *   our writes under our name rather than the HTTP library's User-Agent (`node-fetch`).
   */
  constructor(config: KubeConfig, private readonly fieldManager = 'adama-operator') {
    this.objects = config.makeApiClient(DiscoveringObjectApi);
    this.custom = config.makeApiClient(CustomObjectsApi);
    this.watcher = new Watch(config);
  }

  /** In a pod: the service account; elsewhere: $KUBECONFIG or ~/.kube/config. */
  static fromEnvironment(): ClientNodeKube {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return new ClientNodeKube(kc);
  }

  async list(kind: KindRef, namespace: string | undefined, labelSelector?: string) {
    const list = await call<{ items: KubeObject[]; metadata?: { resourceVersion?: string } }>(() =>
      this.objects.list(kind.apiVersion, kind.kind, namespace, undefined, undefined, undefined, undefined, labelSelector));
    // List items carry no apiVersion/kind on the wire; restore them so every cached object is complete.
    return { items: list.items.map((o) => ({ ...o, apiVersion: kind.apiVersion, kind: kind.kind })), resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  async watch(kind: KindRef, namespace: string | undefined, options: WatchOptions, onEvent: (event: WatchEvent) => void): Promise<WatchHandle> {
    const resource = await call<{ name: string; namespaced: boolean } | undefined>(() => this.objects.discover(kind));
    if (!resource) throw new KubeApiError(404, `the API server does not serve ${kind.apiVersion} ${kind.kind}`);
    const group = kind.apiVersion.includes('/') ? `/apis/${kind.apiVersion}` : `/api/${kind.apiVersion}`;
    const path = namespace && resource.namespaced ? `${group}/namespaces/${namespace}/${resource.name}` : `${group}/${resource.name}`;
    let resolveDone!: (err: Error | null) => void;
    const done = new Promise<Error | null>((resolve) => { resolveDone = resolve; });
    const controller = await this.watcher.watch(
      path,
      { resourceVersion: options.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: options.timeoutSeconds, labelSelector: options.labelSelector },
      (type, object) => onEvent({ type: type as WatchEvent['type'], object: object as KubeObject }),
      (err: unknown) => resolveDone(err === null || err === undefined ? null : watchError(err)),
    );
    return { done, abort: () => controller.abort() };
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      return await call<KubeObject>(() => this.objects.read(headerOf(ref)));
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  create(obj: KubeObject): Promise<KubeObject> {
    return call(() => this.objects.create(obj as KubernetesObject, undefined, undefined, this.fieldManager));
  }

  replace(obj: KubeObject): Promise<KubeObject> {
    return call(() => this.objects.replace(obj as KubernetesObject, undefined, undefined, this.fieldManager));
  }

  apply(obj: KubeObject, fieldManager: string): Promise<KubeObject> {
    return call(() => this.objects.patch(obj as KubernetesObject, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply));
  }

  mergePatch(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject> {
    const meta = (patch.metadata ?? {}) as Record<string, unknown>;
    const body = { ...patch, apiVersion: ref.apiVersion, kind: ref.kind, metadata: { ...meta, name: ref.name, namespace: ref.namespace } };
    return call(() => this.objects.patch(body as KubernetesObject, undefined, undefined, this.fieldManager, undefined, PatchStrategy.MergePatch));
  }

  mergePatchStatus(ref: ObjectRef & { plural: string }, status: Record<string, unknown>): Promise<KubeObject> {
    const [group, version] = ref.apiVersion.split('/') as [string, string];
    return call(() => this.custom.patchNamespacedCustomObjectStatus(
      { group, version, namespace: ref.namespace, plural: ref.plural, name: ref.name, body: { status }, fieldManager: this.fieldManager },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    ));
  }

  async delete(ref: ObjectRef): Promise<void> {
    try {
      await call(() => this.objects.delete(headerOf(ref), undefined, undefined, undefined, undefined, 'Background'));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 404)) throw err;
    }
  }
}

/** The Watch reports HTTP failures as an Error with `statusCode`. */
function watchError(err: unknown): Error {
  const code = (err as { statusCode?: number }).statusCode;
  if (typeof code === 'number') return new KubeApiError(code, (err as Error).message);
  return err instanceof Error ? err : new Error(String(err));
}
