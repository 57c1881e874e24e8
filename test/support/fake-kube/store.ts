/**
 * @module store
 * The fake's etcd: objects by resource/namespace/name, one global resourceVersion counter (every
 * write, deletes included, takes the next value), and a bounded history of change events that
 * watches replay from. Events older than the compaction point are gone, so a watch from before it
 * gets 410 Expired. Listeners run synchronously after each write; a throwing listener is reported,
 * never propagated into the request that wrote.
 */
import type { JsonObject } from './json';
import type { ResourceType } from './registry';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

/** Any stored object. The store only holds plain JSON (no undefined, no class instances). */
export type KubeObject = { apiVersion: string; kind: string; metadata: ObjectMeta } & { [key: string]: unknown };

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  /** The resourceVersion this write produced. */
  rv: number;
  resource: ResourceType;
  /** The object after the write; for DELETED, the last state stamped with the deletion's resourceVersion. */
  object: KubeObject;
  /** The object before the write (MODIFIED and DELETED). */
  previous?: KubeObject;
}

export type StoreListener = (event: StoreEvent) => void;

export const asJson = (o: KubeObject): JsonObject => o as unknown as JsonObject;
export const asKube = (o: JsonObject): KubeObject => o as unknown as KubeObject;

const keyOf = (t: ResourceType, namespace: string, name: string): string => `${t.group}/${t.resource}/${namespace}/${name}`;

export class Store {
  private rv = 0;
  private readonly objects = new Map<string, KubeObject>();
  private readonly uids = new Map<string, { type: ResourceType; key: string }>();
  private history: StoreEvent[] = [];
  private compactedRv = 0;
  private readonly listeners = new Set<StoreListener>();

  constructor(private readonly maxHistory: number, private readonly onListenerError: (e: unknown) => void) {}

  currentRv(): number { return this.rv; }
  compactionRv(): number { return this.compactedRv; }

  /** The stored object itself: callers clone before handing it out or changing it. */
  get(type: ResourceType, namespace: string, name: string): KubeObject | undefined {
    return this.objects.get(keyOf(type, namespace, name));
  }

  /** Sorted by namespace then name, as etcd's key order gives them. */
  list(type: ResourceType, namespace?: string): KubeObject[] {
    const prefix = namespace === undefined ? `${type.group}/${type.resource}/` : `${type.group}/${type.resource}/${namespace}/`;
    return [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  }

  byUid(uid: string): { type: ResourceType; object: KubeObject } | undefined {
    const entry = this.uids.get(uid);
    const object = entry && this.objects.get(entry.key);
    return entry && object ? { type: entry.type, object } : undefined;
  }

  /** Every namespaced object in `namespace`, whatever its type. */
  inNamespace(namespace: string): { type: ResourceType; object: KubeObject }[] {
    const out: { type: ResourceType; object: KubeObject }[] = [];
    for (const { type, key } of this.uids.values()) {
      const object = this.objects.get(key);
      if (object && type.namespaced && object.metadata.namespace === namespace) out.push({ type, object });
    }
    return out;
  }

  /** Writes `object` (stamping the next resourceVersion) and returns the stored copy. */
  put(type: ResourceType, object: KubeObject): KubeObject {
    const namespace = object.metadata.namespace ?? '';
    const name = object.metadata.name ?? '';
    const key = keyOf(type, namespace, name);
    const previous = this.objects.get(key);
    const stored: KubeObject = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.rv) } };
    this.objects.set(key, stored);
    if (stored.metadata.uid) this.uids.set(stored.metadata.uid, { type, key });
    this.record({ type: previous ? 'MODIFIED' : 'ADDED', rv: this.rv, resource: type, object: stored, ...(previous ? { previous } : {}) });
    return stored;
  }

  /** Removes the object; the DELETED event carries its last state with the deletion's resourceVersion. */
  remove(type: ResourceType, namespace: string, name: string): KubeObject | undefined {
    const key = keyOf(type, namespace, name);
    const previous = this.objects.get(key);
    if (!previous) return undefined;
    this.objects.delete(key);
    if (previous.metadata.uid) this.uids.delete(previous.metadata.uid);
    const gone: KubeObject = { ...previous, metadata: { ...previous.metadata, resourceVersion: String(++this.rv) } };
    this.record({ type: 'DELETED', rv: this.rv, resource: type, object: gone, previous });
    return gone;
  }

  /** Events after `rv` for `type`, or 'expired' when some of them were compacted away. */
  since(type: ResourceType, rv: number): StoreEvent[] | 'expired' {
    if (rv < this.compactedRv) return 'expired';
    return this.history.filter((e) => e.rv > rv && e.resource === type);
  }

  /** Forgets all history: every resourceVersion before now is "too old" from here on. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.maxHistory) {
      const dropped = this.history.splice(0, this.history.length - this.maxHistory);
      this.compactedRv = dropped[dropped.length - 1]!.rv;
    }
    for (const l of [...this.listeners]) {
      try { l(event); } catch (e) { this.onListenerError(e); }
    }
  }
}
