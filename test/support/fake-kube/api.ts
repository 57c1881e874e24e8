/**
 * @module api
 * The verbs of the API server over the store: get, list, create, replace, patch (JSON, merge,
 * "strategic" as merge, apply), delete with finalizers/graceful pods/propagation policies, and the
 * status subresource (`/scale` is in scale.ts). The HTTP layer and the fake's direct test access
 * both call this class, so both see the same semantics. Controllers in the fake (kubelet,
 * workloads, GC) write through `systemUpdate`, which skips admission as the real controllers'
 * writes would not be refused.
 */
import { randomBytes } from 'node:crypto';
import { admit, checkTypeMeta, presentStored, rfc3339, sameStoredContent, targetOf, type Endpoint } from './admission';
import { cause, errors } from './errors';
import { FieldManagers, type Scope, type Subresource } from './field-managers';
import { clone, getPath, isObject, type JsonObject, type JsonValue } from './json';
import { jsonPatch, mergePatch, type PatchType } from './patches';
import type { Registry, ResourceType } from './registry';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors';
import { asJson, type KubeObject, type Store } from './store';

export interface WriteOptions {
  /** The field manager (the `fieldManager` parameter, else derived from the User-Agent). */
  manager: string;
  dryRun?: boolean;
}

export interface PatchOptions extends WriteOptions {
  force?: boolean;
  /** Whether `fieldManager` was given explicitly (apply requires it). */
  explicitManager: boolean;
}

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export interface DeleteOptions {
  propagationPolicy?: PropagationPolicy;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface ListOptions { labelSelector?: string; fieldSelector?: string }

export interface ApiHooks {
  now(): Date;
  allocateClusterIP(): string;
  /** Create a namespace on first use instead of answering 404 (the real server's answer). */
  autoCreateNamespaces: boolean;
}

/** What DELETE answers: the object (still terminating, or `returnDeletedObject` types) or a Success Status. */
export type DeleteResult = { object: KubeObject } | { status: JsonObject };

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

const scopeOf = (type: ResourceType, subresource: Subresource): Scope => ({ statusSubresource: type.status, subresource });
/** Cluster-scoped objects live under namespace '' whatever a caller passed. */
const scoped = (type: ResourceType, namespace: string): string => (type.namespaced ? namespace : '');

export class Api {
  readonly managers = new FieldManagers();

  constructor(readonly registry: Registry, readonly store: Store, private readonly hooks: ApiHooks) {}

  private ctx() { return { now: this.hooks.now, allocateClusterIP: this.hooks.allocateClusterIP }; }

  present(type: ResourceType, o: KubeObject): KubeObject { return presentStored(type, o); }

  // ---- reads -------------------------------------------------------------------------------

  get(type: ResourceType, namespace: string, name: string): KubeObject {
    const o = this.store.get(type, scoped(type, namespace), name);
    if (!o) throw errors.notFound(targetOf(type, name));
    return this.present(type, o);
  }

  /** A predicate for list and watch filtering; throws 400 on a malformed selector. */
  matcher(type: ResourceType, opts: ListOptions): (o: KubeObject) => boolean {
    const labels = parseLabelSelector(opts.labelSelector);
    const fields = parseFieldSelector(opts.fieldSelector, type.resource);
    return (o) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o);
  }

  /**
   * A `…List`. Items of built-in types carry no apiVersion/kind (the server's typed lists omit
   * them); custom resources keep theirs. `limit`/`continue` are not supported: everything is returned.
   */
  list(type: ResourceType, namespace: string | undefined, opts: ListOptions): JsonObject {
    const match = this.matcher(type, opts);
    const items = this.store.list(type, namespace).filter(match).map((o) => {
      const out = asJson(this.present(type, o));
      if (!type.schema) { delete out['apiVersion']; delete out['kind']; }
      return out;
    });
    return { kind: type.listKind, apiVersion: type.apiVersion, metadata: { resourceVersion: String(this.store.currentRv()) }, items };
  }

  // ---- create / update ---------------------------------------------------------------------

  private ensureNamespace(type: ResourceType, namespace: string): void {
    if (!type.namespaced) return;
    const nsType = this.registry.byKind('v1', 'Namespace');
    const ns = this.store.get(nsType, '', namespace);
    if (ns?.metadata.deletionTimestamp) {
      throw errors.forbidden(targetOf(type), `unable to create new content in namespace ${namespace} because it is being terminated`);
    }
    if (ns) return;
    if (!this.hooks.autoCreateNamespaces) throw errors.notFound(targetOf(nsType, namespace));
    this.createInternal(nsType, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, { manager: 'fake-kube' }, 'update');
  }

  create(type: ResourceType, namespace: string, body: unknown, opts: WriteOptions): KubeObject {
    return this.createInternal(type, namespace, body, opts, 'update');
  }

  /** `ownership: 'none'` when the caller (apply) records ownership itself. */
  private createInternal(type: ResourceType, namespace: string, input: unknown, opts: WriteOptions, ownership: 'update' | 'none'): KubeObject {
    if (!isObject(input)) throw errors.badRequest('the body of the request must be a JSON object');
    const body = clone(input);
    checkTypeMeta(type, body);
    const meta = isObject(body['metadata']) ? body['metadata'] : {};
    if (type.namespaced && typeof meta['namespace'] === 'string' && meta['namespace'] !== '' && meta['namespace'] !== namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    if (typeof meta['resourceVersion'] === 'string' && meta['resourceVersion'] !== '') throw errors.internal('resourceVersion should not be set on objects to be created');
    let name = typeof meta['name'] === 'string' ? meta['name'] : '';
    if (!name && typeof meta['generateName'] === 'string' && meta['generateName'] !== '') {
      name = meta['generateName'] + [...randomBytes(5)].map((b) => GENERATE_ALPHABET[b % GENERATE_ALPHABET.length]).join('');
    }
    if (!name) throw errors.invalid(targetOf(type, ''), [cause.required('metadata.name', 'name or generateName is required')]);
    this.ensureNamespace(type, namespace);
    if (this.store.get(type, scoped(type, namespace), name)) throw errors.alreadyExists(targetOf(type, name));
    const candidate: JsonObject = { ...body, metadata: { ...meta, name, ...(type.namespaced ? { namespace } : {}) } };
    const next = admit(type, candidate, undefined, '', this.ctx());
    if (opts.dryRun) return this.present(type, next);
    const stored = this.store.put(type, next);
    if (ownership === 'update') this.managers.recordUpdate(stored.metadata.uid!, undefined, asJson(stored), opts.manager, scopeOf(type, ''), type.apiVersion);
    return this.present(type, stored);
  }

  private current(type: ResourceType, namespace: string, name: string): KubeObject {
    const o = this.store.get(type, scoped(type, namespace), name);
    if (!o) throw errors.notFound(targetOf(type, name));
    return o;
  }

  /** Optimistic concurrency and identity checks shared by PUT, PATCH and /scale. */
  private checkPreconditions(type: ResourceType, cur: KubeObject, body: JsonObject, urlName: string): void {
    const meta = isObject(body['metadata']) ? body['metadata'] : {};
    if (typeof meta['name'] === 'string' && meta['name'] !== '' && meta['name'] !== urlName) {
      throw errors.badRequest(`the name of the object (${meta['name']}) does not match the name on the URL (${urlName})`);
    }
    if (type.namespaced && typeof meta['namespace'] === 'string' && meta['namespace'] !== '' && meta['namespace'] !== cur.metadata.namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const rv = meta['resourceVersion'];
    if (typeof rv === 'string' && rv !== '' && rv !== cur.metadata.resourceVersion) throw errors.conflict(targetOf(type, urlName));
    const uid = meta['uid'];
    if (typeof uid === 'string' && uid !== '' && uid !== cur.metadata.uid) {
      throw errors.conflict(targetOf(type, urlName), `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${cur.metadata.uid ?? ''}`);
    }
  }

  /** PUT. `subresource` names the owner entry for field tracking (`scale` when /scale writes through here). */
  replace(type: ResourceType, namespace: string, name: string, body: unknown, endpoint: Endpoint, opts: WriteOptions, subresource?: Subresource): KubeObject {
    if (!isObject(body)) throw errors.badRequest('the body of the request must be a JSON object');
    const cur = this.current(type, namespace, name);
    return this.updateInternal(type, cur, body, endpoint, opts, subresource ?? (endpoint === 'status' ? 'status' : ''), 'update');
  }

  private updateInternal(type: ResourceType, cur: KubeObject, body: JsonObject, endpoint: Endpoint, opts: WriteOptions, subresource: Subresource, ownership: 'update' | 'none'): KubeObject {
    const name = cur.metadata.name ?? '';
    this.checkPreconditions(type, cur, body, name);
    const next = admit(type, body, cur, endpoint, this.ctx());
    next.metadata.resourceVersion = cur.metadata.resourceVersion ?? '';
    if (sameStoredContent(next, cur) || opts.dryRun) return this.present(type, sameStoredContent(next, cur) ? cur : next);
    if (deletesDuringUpdate(type, next)) return this.present(type, this.removeNow(type, cur) ?? cur);
    const stored = this.store.put(type, next);
    if (ownership === 'update') this.managers.recordUpdate(stored.metadata.uid!, asJson(cur), asJson(stored), opts.manager, scopeOf(type, subresource), type.apiVersion);
    return this.present(type, stored);
  }

  private removeNow(type: ResourceType, o: KubeObject): KubeObject | undefined {
    const gone = this.store.remove(type, o.metadata.namespace ?? '', o.metadata.name ?? '');
    if (o.metadata.uid) this.managers.forget(o.metadata.uid);
    return gone;
  }

  // ---- patch -------------------------------------------------------------------------------

  patch(type: ResourceType, namespace: string, name: string, patchType: PatchType, body: unknown, endpoint: Endpoint, opts: PatchOptions): KubeObject {
    const subresource: Subresource = endpoint === 'status' ? 'status' : '';
    if (patchType !== 'apply' && opts.force !== undefined) {
      throw errors.invalid({ resource: 'patchoptions', group: 'meta.k8s.io', kind: 'PatchOptions', name: '' }, [cause.invalid('force', opts.force, 'may not be specified for non-apply patch')]);
    }
    if (patchType === 'apply') return this.apply(type, namespace, name, body, endpoint, opts);
    const cur = this.current(type, namespace, name);
    const patched = patchType === 'json' ? jsonPatch(asJson(this.present(type, cur)), body) : mergePatch(asJson(this.present(type, cur)), asPatchObject(body));
    if (!isObject(patched)) throw errors.badRequest('the patched object is not a JSON object');
    return this.updateInternal(type, cur, patched, endpoint, opts, subresource, 'update');
  }

  private apply(type: ResourceType, namespace: string, name: string, body: unknown, endpoint: Endpoint, opts: PatchOptions): KubeObject {
    if (!opts.explicitManager) {
      throw errors.invalid({ resource: 'patchoptions', group: 'meta.k8s.io', kind: 'PatchOptions', name: '' }, [cause.required('fieldManager', 'is required for apply patch')]);
    }
    if (!isObject(body)) throw errors.badRequest('the applied configuration must be an object');
    if (typeof body['apiVersion'] !== 'string' || typeof body['kind'] !== 'string') throw errors.badRequest('invalid object: apiVersion and kind must be set in an applied configuration');
    checkTypeMeta(type, body);
    const meta = isObject(body['metadata']) ? body['metadata'] : {};
    if (typeof meta['name'] === 'string' && meta['name'] !== name) {
      throw errors.badRequest(`the name of the object (${meta['name']}) does not match the name on the URL (${name})`);
    }
    const config = clone(body);
    if (endpoint === 'status') {
      for (const k of Object.keys(config)) if (!['apiVersion', 'kind', 'metadata', 'status'].includes(k)) delete config[k];
    } else if (type.status) {
      delete config['status'];
    }
    const scope = scopeOf(type, endpoint === 'status' ? 'status' : '');
    const cur = this.store.get(type, scoped(type, namespace), name);
    if (!cur) {
      if (endpoint === 'status') throw errors.notFound(targetOf(type, name));
      const configMeta = isObject(config['metadata']) ? config['metadata'] : {};
      delete configMeta['resourceVersion'];
      const { commit } = this.managers.apply(undefined, undefined, config, opts.manager, true, scope, type.apiVersion);
      const created = this.createInternal(type, namespace, { ...config, metadata: { ...configMeta, name } }, opts, 'none');
      if (!opts.dryRun) commit(created.metadata.uid!);
      return created;
    }
    const live = asJson(this.present(type, cur));
    const { merged, commit } = this.managers.apply(cur.metadata.uid!, live, config, opts.manager, opts.force === true, scope, type.apiVersion);
    const result = this.updateInternal(type, cur, merged, endpoint, opts, scope.subresource, 'none');
    if (!opts.dryRun && result.metadata.uid === cur.metadata.uid) commit(cur.metadata.uid!);
    return result;
  }

  // ---- delete ------------------------------------------------------------------------------

  delete(type: ResourceType, namespace: string, name: string, opts: DeleteOptions): DeleteResult {
    const cur = this.current(type, namespace, name);
    const pre = opts.preconditions ?? {};
    if (pre.uid !== undefined && pre.uid !== cur.metadata.uid) {
      throw errors.conflict(targetOf(type, name), `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid ?? ''}`);
    }
    if (pre.resourceVersion !== undefined && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw errors.conflict(targetOf(type, name), `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion ?? ''}`);
    }
    if (opts.dryRun) return { object: this.present(type, cur) };
    // batch/v1 Jobs orphan their pods unless asked otherwise (the Job strategy's default), as kubectl users learn.
    const policy = opts.propagationPolicy ?? (type.kind === 'Job' ? 'Orphan' : 'Background');
    if (policy === 'Orphan') this.orphanDependents(cur.metadata.uid ?? '');

    const next = clone(cur);
    const m = next.metadata;
    if (m.deletionTimestamp) {
      // Already terminating: a zero grace period (the kubelet's final delete, or --force) ends it.
      if (opts.gracePeriodSeconds === 0 && m.deletionGracePeriodSeconds !== 0) {
        m.deletionGracePeriodSeconds = 0;
        const stored = this.store.put(type, next);
        if ((m.finalizers ?? []).length === 0 && type.kind !== 'Namespace') return this.removed(type, stored);
        return { object: this.present(type, stored) };
      }
      return { object: this.present(type, cur) };
    }
    if (policy === 'Foreground' && !(m.finalizers ?? []).includes(FOREGROUND_FINALIZER)) m.finalizers = [...(m.finalizers ?? []), FOREGROUND_FINALIZER];
    const grace = this.gracePeriod(type, cur, opts);
    const pending = (m.finalizers ?? []).length > 0 || grace > 0 || type.kind === 'Namespace';
    if (!pending) return this.removed(type, cur);
    const now = this.hooks.now();
    m.deletionTimestamp = rfc3339(new Date(now.getTime() + grace * 1000));
    m.deletionGracePeriodSeconds = grace;
    if (type.generation) m.generation = (m.generation ?? 0) + 1;
    if (type.kind === 'Namespace') asJson(next)['status'] = { ...(isObject(asJson(next)['status']) ? asJson(next)['status'] as JsonObject : {}), phase: 'Terminating' };
    const stored = this.store.put(type, next);
    return { object: this.present(type, stored) };
  }

  /** Pods bound to a node terminate gracefully (the kubelet ends them); everything else at once. */
  private gracePeriod(type: ResourceType, o: KubeObject, opts: DeleteOptions): number {
    if (type.kind !== 'Pod' || typeof getPath(o, ['spec', 'nodeName']) !== 'string') return 0;
    const fromSpec = getPath(o, ['spec', 'terminationGracePeriodSeconds']);
    return Math.max(0, opts.gracePeriodSeconds ?? (typeof fromSpec === 'number' ? fromSpec : 30));
  }

  private removed(type: ResourceType, o: KubeObject): DeleteResult {
    const gone = this.removeNow(type, o) ?? o;
    if (type.returnDeletedObject) return { object: this.present(type, gone) };
    return {
      status: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: o.metadata.name ?? '', group: type.group, kind: type.resource, uid: o.metadata.uid ?? '' } },
    };
  }

  /** Orphan propagation: dependents lose their reference to the owner before it goes. */
  orphanDependents(ownerUid: string): void {
    for (const { type, object } of this.dependentsOf(ownerUid)) {
      this.systemUpdate(type, object.metadata.namespace ?? '', object.metadata.name ?? '', 'garbage-collector', (o) => {
        o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== ownerUid);
        if (o.metadata.ownerReferences.length === 0) delete o.metadata.ownerReferences;
      });
    }
  }

  dependentsOf(ownerUid: string): { type: ResourceType; object: KubeObject }[] {
    const out: { type: ResourceType; object: KubeObject }[] = [];
    for (const type of this.registry.all()) {
      for (const object of this.store.list(type)) {
        if ((object.metadata.ownerReferences ?? []).some((r) => r.uid === ownerUid)) out.push({ type, object });
      }
    }
    return out;
  }

  deleteCollection(type: ResourceType, namespace: string | undefined, list: ListOptions, opts: DeleteOptions): JsonObject {
    const match = this.matcher(type, list);
    const items: JsonValue[] = [];
    for (const o of this.store.list(type, namespace).filter(match)) {
      const r = this.delete(type, o.metadata.namespace ?? '', o.metadata.name ?? '', opts);
      items.push('object' in r ? asJson(r.object) : asJson(this.present(type, o)));
    }
    return { kind: type.listKind, apiVersion: type.apiVersion, metadata: { resourceVersion: String(this.store.currentRv()) }, items };
  }

  // ---- controllers' writes -----------------------------------------------------------------

  /**
   * A write by one of the fake's controllers: `mutate` edits a copy of the stored object; no
   * admission, a no-op when nothing changed. Returns the stored object, or undefined when it is gone.
   */
  systemUpdate(type: ResourceType, namespace: string, name: string, manager: string, mutate: (o: KubeObject) => void, subresource: Subresource = ''): KubeObject | undefined {
    const cur = this.store.get(type, scoped(type, namespace), name);
    if (!cur) return undefined;
    const next = clone(cur);
    mutate(next);
    if (sameStoredContent(next, cur)) return cur;
    if (deletesDuringUpdate(type, next)) { this.removeNow(type, cur); return undefined; }
    const stored = this.store.put(type, next);
    this.managers.recordUpdate(stored.metadata.uid!, asJson(cur), asJson(stored), manager, scopeOf(type, subresource), type.apiVersion);
    return stored;
  }

  /** Removes an object outright (the namespace controller's last step). */
  systemRemove(type: ResourceType, o: KubeObject): void {
    this.removeNow(type, o);
  }
}

/**
 * An update that empties the finalizers of an object being deleted (grace period over) deletes it
 * instead of writing it, as the registry's `shouldDeleteDuringUpdate` does: watchers see one DELETED
 * (carrying the last stored state), no MODIFIED.
 */
function deletesDuringUpdate(type: ResourceType, next: KubeObject): boolean {
  const m = next.metadata;
  return !!m.deletionTimestamp && (m.finalizers ?? []).length === 0 && m.deletionGracePeriodSeconds === 0 && type.kind !== 'Namespace';
}

export function asPatchObject(body: unknown): JsonValue {
  if (!isObject(body)) throw errors.badRequest('a merge patch must be a JSON object');
  return body;
}
