/**
 * @module kube-client
 * The operator's one door to the Kubernetes API. Everything above it works on plain JSON objects
 * (never client-node's model classes, whose Date fields differ between list and watch), and every
 * call is asynchronous. `client-node-kube.ts` implements it on @kubernetes/client-node.
 */

/** A resource type: apiVersion + kind (the plural is discovered by the implementation). */
export interface KindRef { apiVersion: string; kind: string }

export interface ObjectRef extends KindRef { namespace: string; name: string }

export interface KubeMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
}

/** Any object as the API server returns it. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: KubeMeta;
  [field: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent { type: WatchEventType; object: KubeObject }

export interface WatchOptions {
  resourceVersion: string;
  /** The server ends the watch after this long; the informer then watches again from its last version. */
  timeoutSeconds: number;
  labelSelector?: string;
}

export interface WatchHandle {
  /** Resolves when the stream ends: null for a clean end, else the error (status code in `KubeApiError`). */
  readonly done: Promise<Error | null>;
  abort(): void;
}

/** A non-2xx answer from the API server. `code` is the HTTP status (409 conflict, 410 expired, 429 …). */
export class KubeApiError extends Error {
  constructor(readonly code: number, message: string, readonly retryAfterMs?: number) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.code === 409;
export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.code === 404;
export const isGone = (err: unknown): boolean => err instanceof KubeApiError && err.code === 410;

export interface KubeClient {
  list(kind: KindRef, namespace: string | undefined, labelSelector?: string): Promise<{ items: KubeObject[]; resourceVersion: string }>;
  watch(kind: KindRef, namespace: string | undefined, options: WatchOptions, onEvent: (event: WatchEvent) => void): Promise<WatchHandle>;
  /** undefined when it does not exist. */
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  create(obj: KubeObject): Promise<KubeObject>;
  /** PUT; a stale metadata.resourceVersion fails with 409. */
  replace(obj: KubeObject): Promise<KubeObject>;
  /** Server-side apply with `fieldManager`, forcing ownership of the fields we set. */
  apply(obj: KubeObject, fieldManager: string): Promise<KubeObject>;
  /** RFC 7386 merge patch; a `metadata.resourceVersion` in the patch makes it conditional (409). */
  mergePatch(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject>;
  /** Merge patch of the `/status` subresource of a custom resource. */
  mergePatchStatus(ref: ObjectRef & { plural: string }, status: Record<string, unknown>): Promise<KubeObject>;
  /** Deletes with background propagation; a missing object is not an error. */
  delete(ref: ObjectRef): Promise<void>;
}
