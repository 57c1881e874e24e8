/**
 * @module http-server
 * The HTTP face of the fake, on node:http: bearer-token auth, request log, injected faults,
 * discovery, then the REST routes (`/api/v1/…`, `/apis/{group}/{version}/…`, optional
 * `namespaces/{ns}/`, `{resource}[/{name}[/status|/scale]]`, and the legacy `/watch/` prefix),
 * decoded into calls on `Api`. Every failure leaves as a Status; nothing thrown escapes a request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import yaml from 'js-yaml';
import type { Api, DeleteOptions, PatchOptions, PropagationPolicy } from './api';
import type { Endpoint } from './admission';
import { ApiError, errors } from './errors';
import type { Faults } from './faults';
import { isObject, type JsonValue } from './json';
import { PATCH_CONTENT_TYPES } from './patches';
import type { ResourceType } from './registry';
import { evictPod } from './eviction';
import { getScale, patchScale, replaceScale } from './scale';
import type { Watches } from './watch';

const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface RequestRecord { method: string; path: string; contentType?: string }

export interface HttpDeps {
  api: Api;
  watches: Watches;
  faults: Faults;
  token: string;
  requests: RequestRecord[];
  /** A bug in the fake (not a client error): recorded so `settled()` reports it. */
  onInternalError(e: unknown): void;
}

interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: 'status' | 'scale' | 'eviction';
  legacyWatch: boolean;
}

type Routed = { kind: 'discovery'; body: JsonValue } | { kind: 'resource'; route: Route };

function send(res: ServerResponse, code: number, body: JsonValue | object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, e: ApiError): void {
  const retry = e.status.details?.retryAfterSeconds;
  send(res, e.code, e.status, retry !== undefined ? { 'Retry-After': String(retry) } : {});
}

/** `apps/v1/…` coordinates after `/api` or `/apis`; discovery documents when the path stops early. */
function route(api: Api, segments: string[], host: string): Routed {
  const reg = api.registry;
  const [root, ...rest] = segments;
  if (root === undefined) return { kind: 'discovery', body: { paths: ['/api', '/api/v1', '/apis', '/version'] } };
  if (root === 'version' && rest.length === 0) return { kind: 'discovery', body: { major: '1', minor: '31', gitVersion: 'v1.31.0-fake-kube', platform: 'linux/amd64' } };
  let group: string;
  let version: string | undefined;
  let tail: string[];
  if (root === 'api') {
    if (rest.length === 0) return { kind: 'discovery', body: reg.apiVersions(host) };
    group = '';
    [version, ...tail] = rest;
  } else if (root === 'apis') {
    if (rest.length === 0) return { kind: 'discovery', body: reg.apiGroupList() };
    const [g, v, ...t] = rest;
    group = g!;
    version = v;
    tail = t;
    if (version === undefined) {
      const doc = reg.apiGroup(group);
      if (!doc) throw errors.pathNotFound(`/apis/${group}`);
      return { kind: 'discovery', body: doc };
    }
  } else {
    throw errors.pathNotFound(`/${segments.join('/')}`);
  }
  if (version === undefined || !reg.servesGroupVersion(group, version)) throw errors.pathNotFound(`/${segments.join('/')}`);
  if (tail.length === 0) return { kind: 'discovery', body: reg.apiResourceList(group, version) ?? {} };
  const legacyWatch = tail[0] === 'watch';
  if (legacyWatch) tail = tail.slice(1);
  let namespace: string | undefined;
  // `namespaces/{ns}/{resource}` is a namespaced path; `namespaces/{name}[/status]` is the Namespace itself.
  if (tail[0] === 'namespaces' && tail.length >= 3 && reg.find(group, version, tail[2]!)?.namespaced) {
    namespace = tail[1];
    tail = tail.slice(2);
  }
  const [resource, name, sub, ...extra] = tail;
  const type = resource === undefined ? undefined : reg.find(group, version, resource);
  const notFound = () => errors.pathNotFound(`/${segments.join('/')}`);
  if (!type || extra.length > 0) throw notFound();
  const eviction = sub === 'eviction' && group === '' && resource === 'pods';
  if (sub !== undefined && !((sub === 'status' && type.status) || (sub === 'scale' && type.scale) || eviction)) throw notFound();
  if (type.namespaced && namespace === undefined && name !== undefined) throw notFound();
  return {
    kind: 'resource',
    route: { type, ...(namespace !== undefined ? { namespace } : {}), ...(name !== undefined ? { name } : {}), ...(sub ? { subresource: sub as 'status' | 'scale' | 'eviction' } : {}), legacyWatch },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) { reject(errors.tooLarge()); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const mediaType = (req: IncomingMessage): string => (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

/** JSON, or YAML (apply patches and `application/yaml` bodies); YAML's core schema, no timestamps. */
function parseBody(text: string, type: string): unknown {
  if (text.trim() === '') throw errors.badRequest('the request body is empty');
  try {
    if (type.endsWith('yaml')) return yaml.load(text, { schema: yaml.CORE_SCHEMA });
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw errors.badRequest(`the body of the request could not be decoded: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function intParam(q: URLSearchParams, key: string): number | undefined {
  const v = q.get(key);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw errors.badRequest(`invalid value for ${key}: ${v}`);
  return n;
}

const truthy = (v: string | null): boolean => v === 'true' || v === '1';

function propagation(v: unknown): PropagationPolicy | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (v === 'Background' || v === 'Foreground' || v === 'Orphan') return v;
  throw errors.invalid({ resource: 'deleteoptions', group: 'meta.k8s.io', kind: 'DeleteOptions', name: '' }, [{ reason: 'FieldValueNotSupported', field: 'propagationPolicy', message: `Unsupported value: ${JSON.stringify(v)}: supported values: "Foreground", "Background", "Orphan"` }]);
}

/** DeleteOptions from the query and (taking precedence, as the server does) the body. */
function deleteOptions(q: URLSearchParams, body: unknown): DeleteOptions {
  const b = isObject(body) ? body : {};
  const orphan = b['orphanDependents'] ?? (q.has('orphanDependents') ? truthy(q.get('orphanDependents')) : undefined);
  const policy = propagation(b['propagationPolicy'] ?? q.get('propagationPolicy')) ?? (orphan === true ? 'Orphan' : orphan === false ? 'Background' : undefined);
  const grace = typeof b['gracePeriodSeconds'] === 'number' ? b['gracePeriodSeconds'] : intParam(q, 'gracePeriodSeconds');
  const pre = isObject(b['preconditions']) ? b['preconditions'] : {};
  const dryRun = (Array.isArray(b['dryRun']) && b['dryRun'].includes('All')) || q.get('dryRun') === 'All';
  return {
    ...(policy ? { propagationPolicy: policy } : {}),
    ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
    preconditions: { ...(typeof pre['uid'] === 'string' ? { uid: pre['uid'] } : {}), ...(typeof pre['resourceVersion'] === 'string' ? { resourceVersion: pre['resourceVersion'] } : {}) },
    dryRun,
  };
}

/** The manager of a non-apply write: `fieldManager`, else the User-Agent up to its first `/`. */
function managerOf(req: IncomingMessage, q: URLSearchParams): string {
  return q.get('fieldManager') || (req.headers['user-agent'] ?? 'unknown').split('/')[0]! || 'unknown';
}

async function handleResource(deps: HttpDeps, req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): Promise<void> {
  const { api } = deps;
  const method = req.method ?? 'GET';
  const ns = r.namespace ?? '';
  const endpoint: Endpoint = r.subresource === 'status' ? 'status' : '';
  const write = { manager: managerOf(req, q), dryRun: q.get('dryRun') === 'All' };
  const list = { ...(q.get('labelSelector') ? { labelSelector: q.get('labelSelector')! } : {}), ...(q.get('fieldSelector') ? { fieldSelector: q.get('fieldSelector')! } : {}) };
  const bodyOf = async (): Promise<unknown> => parseBody(await readBody(req), mediaType(req));

  if (r.name === undefined) {
    if (method === 'GET') {
      if (r.legacyWatch || truthy(q.get('watch'))) {
        const timeoutSeconds = intParam(q, 'timeoutSeconds');
        deps.watches.serve({
          type: r.type, ...(r.namespace !== undefined ? { namespace: r.namespace } : {}), ...list,
          resourceVersion: q.get('resourceVersion') ?? '', allowBookmarks: truthy(q.get('allowWatchBookmarks')),
          ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
        }, res);
        return;
      }
      send(res, 200, api.list(r.type, r.namespace, list));
      return;
    }
    if (method === 'POST' && (r.namespace !== undefined || !r.type.namespaced)) { send(res, 201, api.create(r.type, ns, await bodyOf(), write)); return; }
    if (method === 'DELETE') {
      const text = await readBody(req);
      send(res, 200, api.deleteCollection(r.type, r.namespace, list, deleteOptions(q, text.trim() ? parseBody(text, mediaType(req)) : undefined)));
      return;
    }
    throw errors.methodNotAllowed(method);
  }

  const name = r.name;
  if (r.subresource === 'eviction') {
    if (method !== 'POST') throw errors.methodNotAllowed(method);
    const out = evictPod(api, r.type, ns, name, await bodyOf());
    send(res, 201, out.status);
    return;
  }
  if (r.subresource === 'scale') {
    if (method === 'GET') { send(res, 200, getScale(api, r.type, ns, name)); return; }
    if (method === 'PUT') { send(res, 200, replaceScale(api, r.type, ns, name, await bodyOf(), write)); return; }
    if (method === 'PATCH') {
      const patchType = PATCH_CONTENT_TYPES[mediaType(req)];
      if (!patchType) throw errors.unsupportedMediaType(mediaType(req));
      send(res, 200, patchScale(api, r.type, ns, name, patchType, await bodyOf(), write));
      return;
    }
    throw errors.methodNotAllowed(method);
  }
  switch (method) {
    case 'GET': send(res, 200, api.get(r.type, ns, name)); return;
    case 'PUT': send(res, 200, api.replace(r.type, ns, name, await bodyOf(), endpoint, write)); return;
    case 'PATCH': {
      const patchType = PATCH_CONTENT_TYPES[mediaType(req)];
      if (!patchType) throw errors.unsupportedMediaType(mediaType(req));
      const body = await bodyOf();
      const existed = api.store.get(r.type, r.type.namespaced ? ns : '', name) !== undefined;
      const opts: PatchOptions = { ...write, explicitManager: q.has('fieldManager') && q.get('fieldManager') !== '', ...(q.has('force') ? { force: truthy(q.get('force')) } : {}) };
      const out = api.patch(r.type, ns, name, patchType, body, endpoint, opts);
      send(res, existed ? 200 : 201, out);
      return;
    }
    case 'DELETE': {
      if (endpoint !== '') throw errors.methodNotAllowed(method);
      const text = await readBody(req);
      const body = text.trim() ? parseBody(text, mediaType(req)) : undefined;
      const result = api.delete(r.type, ns, name, deleteOptions(q, body));
      // 202 only for the legacy `orphanDependents: false` on an object still terminating, as the server does.
      const legacyCascade = (isObject(body) && body['orphanDependents'] === false) || q.get('orphanDependents') === 'false';
      const pending = api.store.get(r.type, r.type.namespaced ? ns : '', name) !== undefined;
      send(res, legacyCascade && pending ? 202 : 200, 'object' in result ? result.object : result.status);
      return;
    }
    default: throw errors.methodNotAllowed(method);
  }
}

async function handle(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://fake-kube');
  const method = req.method ?? 'GET';
  const contentType = req.headers['content-type'];
  deps.requests.push({ method, path: url.pathname, ...(contentType ? { contentType } : {}) });
  if (req.headers.authorization !== `Bearer ${deps.token}`) throw errors.unauthorized();
  const fault = deps.faults.take(method, url.pathname, url.search);
  if (fault) throw fault;
  let segments: string[];
  try { segments = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent); } catch { throw errors.badRequest(`malformed path ${url.pathname}`); }
  const routed = route(deps.api, segments, req.headers.host ?? '');
  if (routed.kind === 'discovery') {
    if (method !== 'GET') throw errors.methodNotAllowed(method);
    send(res, 200, routed.body);
    return;
  }
  await handleResource(deps, req, res, routed.route, url.searchParams);
}

export function createHttpServer(deps: HttpDeps): Server {
  return createServer((req, res) => {
    handle(deps, req, res).catch((e: unknown) => {
      if (!(e instanceof ApiError)) deps.onInternalError(e);
      const err = e instanceof ApiError ? e : errors.internal(e instanceof Error ? e.message : String(e));
      if (res.headersSent) { res.destroy(); return; }
      // Drain what the client is still sending so the connection stays usable.
      req.resume();
      sendError(res, err);
    });
  });
}
