/**
 * @module messages
 * The client wire protocol (docs/protocol.md is the contract): request shapes, validated with zod
 * at the edge, and the server frames. Shared by the web-proxy and the client SDK, so the two can
 * never disagree about a field.
 */
import { z } from 'zod';
import type { Json } from '../shared/json';

/** Deepest nesting accepted in a client JSON value; deeper values are refused before anything recurses over them. */
export const MAX_JSON_DEPTH = 64;

/**
 * A value that came out of JSON.parse is already valid JSON, so the only thing left to check is its
 * depth, and that check must not recurse: a recursive schema (zod's z.lazy union) overflowed the
 * stack on a 2 KB frame nested 1000 deep and spent ~1 s on a 64 KB frame of small arrays.
 */
export function jsonDepthWithin(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > maxDepth) return false;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return true;
}

// Strings jsonb cannot store (U+0000, lone surrogates) are refused before the schema: codec.ts.
const json = z
  .custom<Json>((v) => v !== undefined && jsonDepthWithin(v, MAX_JSON_DEPTH), { message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` });

const requestId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const name = z.string().min(1).max(128);

export const requestSchemas = {
  'auth': z.object({ identity: z.string().min(1).max(4096) }).strict(),
  'document/create': z.object({ space: name, key: name, arg: json.optional(), identity: z.string().max(4096).optional() }).strict(),
  'document/delete': z.object({ space: name, key: name, identity: z.string().max(4096).optional() }).strict(),
  'document/list': z.object({
    space: name,
    after: z.string().max(128).optional(),
    limit: z.number().int().min(1).max(1000).optional(),
    identity: z.string().max(4096).optional(),
  }).strict(),
  'connection/create': z.object({
    space: name,
    key: name,
    since: z.number().int().nonnegative().optional(),
    viewerState: json.optional(),
    identity: z.string().max(4096).optional(),
  }).strict(),
  'connection/send': z.object({
    connection: requestId,
    channel: z.string().min(1).max(128),
    message: json,
    dedupe: z.string().min(1).max(128).optional(),
  }).strict(),
  'connection/update': z.object({ connection: requestId, viewerState: json }).strict(),
  'connection/end': z.object({ connection: requestId }).strict(),
} as const;

export type MethodName = keyof typeof requestSchemas;
export type RequestBody<M extends MethodName> = z.infer<(typeof requestSchemas)[M]>;
export type Request = { [M in MethodName]: { id: number; method: M } & RequestBody<M> }[MethodName];

export const METHODS = Object.keys(requestSchemas) as MethodName[];

export function isMethodName(m: unknown): m is MethodName {
  return typeof m === 'string' && Object.prototype.hasOwnProperty.call(requestSchemas, m);
}

/** A delta on a document stream: a merge patch (docs/deltas.md) and the document seq it reflects. */
export interface Delta {
  data: Json;
  seq: number;
  /** True when `data` is the viewer's whole view, to replace (not merge into) what the client holds. */
  reset?: boolean;
}

export type ServerFrame =
  | { deliver: number; done: false; response: { delta: Delta } }
  | { deliver: number; done: true; response: Record<string, Json> }
  | { failure: number | null; code: number; message: string; retry: boolean; retryAfterMs?: number; refusedId?: number }
  | { ping: number };

export type ClientFrame = Request | { pong: number };
