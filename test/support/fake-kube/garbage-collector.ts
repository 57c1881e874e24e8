/**
 * @module garbage-collector
 * Owner references and namespace deletion, as kube-controller-manager runs them, asynchronously:
 * - an object whose owners are all gone is deleted (Background, or Foreground when an owner waits
 *   on it); references to owners that are gone are removed while another owner remains;
 * - an owner deleted with `propagationPolicy=Foreground` keeps the `foregroundDeletion` finalizer
 *   until no dependent with `blockOwnerDeletion: true` is left;
 * - a deleted namespace (phase Terminating) has its content deleted, then goes itself.
 * Orphan propagation is done synchronously by the API (see api.ts).
 */
import { FOREGROUND_FINALIZER, type Api } from './api';
import type { Background } from './background';
import { ApiError } from './errors';
import type { ResourceType } from './registry';
import type { KubeObject, StoreEvent } from './store';

const MANAGER = 'garbage-collector';

/** NotFound and Conflict mean someone else got there first; the next event re-evaluates. */
function ignoreRaces(e: unknown): void {
  if (e instanceof ApiError && (e.code === 404 || e.code === 409)) return;
  throw e;
}

export class GarbageCollector {
  private readonly unsubscribe: () => void;

  constructor(private readonly api: Api, private readonly background: Background) {
    this.unsubscribe = api.store.subscribe((e) => this.observe(e));
  }

  stop(): void { this.unsubscribe(); }

  private observe(e: StoreEvent): void {
    const o = e.object;
    const uid = o.metadata.uid ?? '';
    if (e.type === 'DELETED') {
      this.background.run(`gc: dependents of ${e.resource.resource}/${o.metadata.name ?? ''}`, () => this.collectDependentsOf(uid));
    } else if ((o.metadata.ownerReferences ?? []).length > 0) {
      this.background.run(`gc: owners of ${e.resource.resource}/${o.metadata.name ?? ''}`, () => this.verifyOwners(e.resource, uid));
    }
    if (e.type !== 'DELETED' && o.metadata.deletionTimestamp && (o.metadata.finalizers ?? []).includes(FOREGROUND_FINALIZER)) {
      this.background.run(`gc: foreground deletion of ${o.metadata.name ?? ''}`, () => this.foreground(uid));
    }
    // A dependent going (or terminating) may release an owner waiting in foreground deletion.
    for (const ref of (e.type === 'DELETED' ? e.object : o).metadata.ownerReferences ?? []) {
      const owner = this.api.store.byUid(ref.uid);
      if (owner?.object.metadata.deletionTimestamp && (owner.object.metadata.finalizers ?? []).includes(FOREGROUND_FINALIZER)) {
        this.background.run(`gc: foreground deletion of ${ref.name}`, () => this.foreground(ref.uid));
      }
    }
    if (e.resource.kind === 'Namespace' && e.type === 'MODIFIED' && o.metadata.deletionTimestamp) {
      this.background.run(`namespace ${o.metadata.name ?? ''}: delete content`, () => this.drainNamespace(o.metadata.name ?? ''));
    } else if (e.type === 'DELETED' && e.resource.namespaced && o.metadata.namespace) {
      const ns = this.namespace(o.metadata.namespace);
      if (ns?.metadata.deletionTimestamp) this.background.run(`namespace ${o.metadata.namespace}: finish`, () => this.drainNamespace(o.metadata.namespace ?? ''));
    }
  }

  /** An owner reference is solid when an object with that uid exists where the dependent can see it. */
  private ownerExists(dependent: KubeObject, uid: string): boolean {
    const owner = this.api.store.byUid(uid);
    if (!owner) return false;
    return !owner.type.namespaced || owner.object.metadata.namespace === dependent.metadata.namespace;
  }

  private waitingForDependents(uid: string): boolean {
    const owner = this.api.store.byUid(uid)?.object;
    return !!owner?.metadata.deletionTimestamp && (owner.metadata.finalizers ?? []).includes(FOREGROUND_FINALIZER);
  }

  private collectDependentsOf(ownerUid: string): void {
    for (const { type, object } of this.api.dependentsOf(ownerUid)) this.verify(type, object);
  }

  private verifyOwners(type: ResourceType, uid: string): void {
    const found = this.api.store.byUid(uid);
    if (found) this.verify(type, found.object);
  }

  private verify(type: ResourceType, o: KubeObject): void {
    const refs = o.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const solid = refs.filter((r) => this.ownerExists(o, r.uid));
    const ns = o.metadata.namespace ?? '';
    const name = o.metadata.name ?? '';
    try {
      if (solid.length === 0) {
        if (o.metadata.deletionTimestamp) return;
        const foreground = refs.some((r) => this.waitingForDependents(r.uid));
        this.api.delete(type, ns, name, { propagationPolicy: foreground ? 'Foreground' : 'Background' });
      } else if (solid.length < refs.length) {
        this.api.systemUpdate(type, ns, name, MANAGER, (x) => { x.metadata.ownerReferences = solid; });
      }
    } catch (e) { ignoreRaces(e); }
  }

  /** Deletes the dependents of an owner in foreground deletion; lets it go once no blocking one is left. */
  private foreground(ownerUid: string): void {
    const owner = this.api.store.byUid(ownerUid);
    if (!owner || !this.waitingForDependents(ownerUid)) return;
    const dependents = this.api.dependentsOf(ownerUid);
    for (const { type, object } of dependents) {
      if (object.metadata.deletionTimestamp) continue;
      try { this.api.delete(type, object.metadata.namespace ?? '', object.metadata.name ?? '', { propagationPolicy: 'Foreground' }); } catch (e) { ignoreRaces(e); }
    }
    const blocking = dependents.filter(({ object }) => (object.metadata.ownerReferences ?? []).some((r) => r.uid === ownerUid && r.blockOwnerDeletion === true));
    if (blocking.length > 0) return;
    const o = owner.object;
    this.api.systemUpdate(owner.type, o.metadata.namespace ?? '', o.metadata.name ?? '', MANAGER, (x) => {
      x.metadata.finalizers = (x.metadata.finalizers ?? []).filter((f) => f !== FOREGROUND_FINALIZER);
      if (x.metadata.finalizers.length === 0) delete x.metadata.finalizers;
    });
  }

  private namespace(name: string): KubeObject | undefined {
    return this.api.store.get(this.api.registry.byKind('v1', 'Namespace'), '', name);
  }

  private drainNamespace(name: string): void {
    const ns = this.namespace(name);
    if (!ns?.metadata.deletionTimestamp) return;
    const content = this.api.store.inNamespace(name);
    for (const { type, object } of content) {
      if (object.metadata.deletionTimestamp) continue;
      try { this.api.delete(type, name, object.metadata.name ?? '', {}); } catch (e) { ignoreRaces(e); }
    }
    if (this.api.store.inNamespace(name).length === 0) this.api.systemRemove(this.api.registry.byKind('v1', 'Namespace'), ns);
  }
}
