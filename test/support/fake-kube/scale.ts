/**
 * @module scale
 * The `/scale` subresource: an `autoscaling/v1` Scale view of an object through its scale paths
 * (built-ins: `spec.replicas`, `status.replicas`, the selector rendered from `spec.selector`;
 * CRDs: `specReplicasPath`, `statusReplicasPath`, `labelSelectorPath`). Writes set the spec
 * replicas path through a normal update (so generation moves and the object's resourceVersion is
 * the Scale's precondition).
 */
import type { Api, WriteOptions } from './api';
import { asPatchObject } from './api';
import { cause, errors, type StatusCause } from './errors';
import { getPath, isObject, setPath, type JsonObject } from './json';
import { jsonPatch, mergePatch, type PatchType } from './patches';
import type { ResourceType, ScaleSubresource } from './registry';
import { labelSelectorToString, type LabelSelectorObject } from './selectors';
import { asJson } from './store';

function scaleOf(type: ResourceType): ScaleSubresource {
  if (!type.scale) throw errors.pathNotFound(`${type.resource}/scale`);
  return type.scale;
}

export function getScale(api: Api, type: ResourceType, namespace: string, name: string): JsonObject {
  const s = scaleOf(type);
  const o = asJson(api.get(type, namespace, name));
  const specReplicas = getPath(o, s.specReplicasPath);
  const statusReplicas = getPath(o, s.statusReplicasPath);
  const selector = s.labelSelectorPath ? getPath(o, s.labelSelectorPath) : labelSelectorToString(getPath(o, ['spec', 'selector']) as LabelSelectorObject | undefined);
  const m = (o['metadata'] ?? {}) as JsonObject;
  return {
    kind: 'Scale', apiVersion: 'autoscaling/v1',
    metadata: { name: m['name'] ?? name, ...(m['namespace'] ? { namespace: m['namespace'] } : {}), uid: m['uid'] ?? '', resourceVersion: m['resourceVersion'] ?? '', creationTimestamp: m['creationTimestamp'] ?? '' },
    spec: { replicas: typeof specReplicas === 'number' ? specReplicas : 0 },
    // An absent status replicas path reads as 0, as the real server documents.
    status: { replicas: typeof statusReplicas === 'number' ? statusReplicas : 0, ...(typeof selector === 'string' && selector !== '' ? { selector } : {}) },
  };
}

export function replaceScale(api: Api, type: ResourceType, namespace: string, name: string, body: unknown, opts: WriteOptions): JsonObject {
  const s = scaleOf(type);
  if (!isObject(body)) throw errors.badRequest('the body of the request must be a JSON object');
  const replicas = getPath(body, ['spec', 'replicas']);
  const causes: StatusCause[] = [];
  if (typeof replicas !== 'number' || !Number.isInteger(replicas)) causes.push(cause.invalid('spec.replicas', replicas ?? null, 'must be an integer'));
  else if (replicas < 0) causes.push(cause.invalid('spec.replicas', replicas, 'must be greater than or equal to 0'));
  if (causes.length > 0) throw errors.invalid({ resource: 'scale', group: 'autoscaling', kind: 'Scale', name }, causes);
  const candidate = asJson(api.get(type, namespace, name));
  setPath(candidate, s.specReplicasPath, replicas as number);
  // The Scale's resourceVersion (if any) is the precondition on the object.
  const rv = getPath(body, ['metadata', 'resourceVersion']);
  if (typeof rv === 'string' && rv !== '') (candidate['metadata'] as JsonObject)['resourceVersion'] = rv;
  api.replace(type, namespace, name, candidate, '', opts, 'scale');
  return getScale(api, type, namespace, name);
}

/** JSON and merge patches of the Scale; apply is served as a merge patch without field tracking (see README). */
export function patchScale(api: Api, type: ResourceType, namespace: string, name: string, patchType: PatchType, body: unknown, opts: WriteOptions): JsonObject {
  const scale = getScale(api, type, namespace, name);
  const patched = patchType === 'json' ? jsonPatch(scale, body) : mergePatch(scale, asPatchObject(body));
  return replaceScale(api, type, namespace, name, patched, opts);
}
