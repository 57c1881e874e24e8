/**
 * @module admission
 * Turns a request body into the object to store, as the generic registry's strategies do:
 * server-owned metadata comes from the server (or the stored object), the main endpoint of a
 * resource with a status subresource keeps the stored status and `/status` keeps everything else,
 * then defaulting, validation and the generation rule. Pure apart from the clock and id sources.
 */
import { randomUUID } from 'node:crypto';
import { defaultBuiltin, validateBuiltin, validateLabels, validateName } from './builtins';
import { cause, errors, type StatusCause } from './errors';
import { clone, deepEqual, isObject, type JsonObject, type JsonValue } from './json';
import type { ResourceType } from './registry';
import { asJson, asKube, type KubeObject } from './store';

export type WriteKind = 'create' | 'update';
export type Endpoint = '' | 'status';

export interface AdmissionContext {
  now(): Date;
  allocateClusterIP(): string;
}

/** The ObjectMeta fields a client may send; anything else in `metadata` is dropped. */
const CLIENT_METADATA = ['name', 'generateName', 'namespace', 'labels', 'annotations', 'finalizers', 'ownerReferences', 'resourceVersion', 'uid'];

export const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');

/** The `kind.group "name"` target used in error messages. */
export function targetOf(type: ResourceType, name?: string) {
  return { resource: type.resource, group: type.group, kind: type.kind, ...(name !== undefined ? { name } : {}) };
}

/** Checks `apiVersion`/`kind` of a body against the URL's resource, filling them when absent. */
export function checkTypeMeta(type: ResourceType, body: JsonObject): void {
  const apiVersion = body['apiVersion'];
  const kind = body['kind'];
  if (apiVersion !== undefined && apiVersion !== type.apiVersion) {
    throw errors.badRequest(`the API version in the data (${String(apiVersion)}) does not match the expected API version (${type.apiVersion})`);
  }
  if (kind !== undefined && kind !== type.kind) throw errors.badRequest(`the kind in the data (${String(kind)}) does not match the expected kind (${type.kind})`);
  body['apiVersion'] = type.apiVersion;
  body['kind'] = type.kind;
}

function clientMetadata(body: JsonObject): JsonObject {
  const m = isObject(body['metadata']) ? body['metadata'] : {};
  return Object.fromEntries(Object.entries(m).filter(([k, v]) => CLIENT_METADATA.includes(k) && v !== null));
}

/** Everything that drives `generation`: the object without metadata (and status, when that is a subresource). */
function generationContent(o: JsonObject, statusSubresource: boolean): JsonObject {
  const { metadata: _m, ...rest } = o;
  if (statusSubresource) delete rest['status'];
  return rest;
}

function validateOwnerReferences(refs: JsonValue | undefined): StatusCause[] {
  if (refs === undefined) return [];
  if (!Array.isArray(refs)) return [cause.typeInvalid('metadata.ownerReferences', refs, 'must be a list')];
  const out: StatusCause[] = [];
  refs.forEach((r, i) => {
    for (const f of ['apiVersion', 'kind', 'name', 'uid']) {
      if (!isObject(r) || typeof r[f] !== 'string' || r[f] === '') out.push(cause.required(`metadata.ownerReferences[${i}].${f}`));
    }
  });
  if (refs.filter((r) => isObject(r) && r['controller'] === true).length > 1) {
    out.push(cause.invalid('metadata.ownerReferences', refs, 'Only one reference can have Controller set to true'));
  }
  return out;
}

function newFinalizers(next: JsonObject, old: KubeObject): string[] {
  const before = new Set(old.metadata.finalizers ?? []);
  const after = isObject(next['metadata']) && Array.isArray(next['metadata']['finalizers']) ? next['metadata']['finalizers'] : [];
  return after.filter((f): f is string => typeof f === 'string' && !before.has(f));
}

/**
 * The object a create or update would store (without resourceVersion, which the store stamps).
 * `body` is not modified. Throws 400/422 ApiErrors.
 */
export function admit(type: ResourceType, body: JsonObject, old: KubeObject | undefined, endpoint: Endpoint, ctx: AdmissionContext): KubeObject {
  const input = clone(body);
  checkTypeMeta(type, input);
  const meta = clientMetadata(input);
  delete meta['resourceVersion'];
  delete meta['uid'];
  let next: JsonObject;
  if (!old) {
    next = { ...input, metadata: meta };
    if (type.status) delete next['status'];
    const m = next['metadata'] as JsonObject;
    m['uid'] = randomUUID();
    m['creationTimestamp'] = rfc3339(ctx.now());
    if (type.generation) m['generation'] = 1;
    if (type.kind === 'Pod') next['status'] = { phase: 'Pending', qosClass: 'BestEffort' };
  } else if (endpoint === 'status') {
    // The status endpoint writes status and nothing else.
    next = { ...clone(asJson(old)), ...(input['status'] !== undefined ? { status: input['status'] } : {}) };
    if (input['status'] === undefined) delete next['status'];
  } else {
    const oldMeta = old.metadata;
    const serverMeta: JsonObject = { uid: oldMeta.uid ?? '', creationTimestamp: oldMeta.creationTimestamp ?? '' };
    for (const k of ['generation', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const) {
      const v = oldMeta[k];
      if (v !== undefined) serverMeta[k] = v;
    }
    next = { ...input, metadata: { ...meta, ...serverMeta, name: oldMeta.name ?? '', ...(oldMeta.namespace ? { namespace: oldMeta.namespace } : {}) } };
    if (type.status) {
      const oldStatus = asJson(old)['status'];
      if (oldStatus === undefined) delete next['status'];
      else next['status'] = clone(oldStatus);
    }
  }
  const m = next['metadata'] as JsonObject;
  if (!type.namespaced) delete m['namespace'];

  // Defaulting, then validation, as the registry does it.
  const causes: StatusCause[] = [];
  if (type.schema) {
    type.schema.prune(next);
    causes.push(...type.schema.defaultAndValidate(next));
  } else {
    const previousClusterIP = old && isObject(asJson(old)['spec']) ? (asJson(old)['spec'] as JsonObject)['clusterIP'] : undefined;
    defaultBuiltin(type.kind, next, { allocateClusterIP: ctx.allocateClusterIP, ...(typeof previousClusterIP === 'string' ? { previousClusterIP } : {}) });
    causes.push(...validateBuiltin(type.kind, next, old ? asJson(old) : undefined));
  }
  const name = typeof m['name'] === 'string' ? m['name'] : '';
  causes.unshift(...validateName(name, type.kind), ...validateLabels(m['labels']), ...validateOwnerReferences(m['ownerReferences']));
  if (old?.metadata.deletionTimestamp) {
    const added = newFinalizers(next, old);
    if (added.length > 0) causes.push(cause.forbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`));
  }
  if (causes.length > 0) throw errors.invalid(targetOf(type, name), causes);

  if (old && type.generation && endpoint === '' && !deepEqual(generationContent(next, type.status), generationContent(asJson(old), type.status))) {
    m['generation'] = (old.metadata.generation ?? 0) + 1;
  }
  return asKube(next);
}

/** Applies CRD defaults to an object read from storage (objects stored before a default existed get it on read). */
export function presentStored(type: ResourceType, o: KubeObject): KubeObject {
  const out = clone(o);
  if (!type.schema) return out;
  type.schema.defaultAndValidate(asJson(out));
  // Custom resources are unstructured on the server: Go encodes their maps with sorted keys, so
  // every read returns keys in alphabetical order, whatever order the writer used.
  return sortKeys(out) as KubeObject;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, sortKeys(o[k])]));
}

/** Equal apart from the resourceVersion the store stamps: a write that changes nothing is a no-op. */
export function sameStoredContent(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => ({ ...o, metadata: { ...o.metadata, resourceVersion: '' } });
  return deepEqual(strip(a), strip(b));
}
