/**
 * @module config
 * Defaults for every service in one place, each field documented (what, unit, cost of raising it).
 * `resolveConfig` layers defaults < environment < flags, validates once with zod (unknown keys are
 * rejected), and returns a frozen object. Environment variables are ADAMA_<UPPER_SNAKE> of the field.
 */
import { z } from 'zod';

export const hostDefaults = {
  /** Bounded work queue per document; a full queue answers DOC_QUEUE_FULL. Raising it trades memory for burst tolerance. */
  docQueueDepth: 256,
  /** Most queued requests applied and appended as one batch (group commit per document). */
  maxBatch: 64,
  /** Heap limit of each space's isolate (MiB). Shared by all documents of the space on this host. */
  sandboxMemoryMb: 64,
  /** CPU time one call into a space may use (ms) before SPACE_TIMEOUT. */
  sandboxCallTimeoutMs: 1000,
  /**
   * Calls into a space run synchronously on the event loop for up to this long (ms): an async
   * isolate call costs a thread hand-off several times the work of a typical handler. A call that
   * runs longer is stopped and re-run off the loop with the full sandboxCallTimeoutMs, and the
   * space stays off the loop for a while, so a slow space stalls the loop at most this long now
   * and then. 0 runs every call off the loop.
   */
  sandboxSyncSliceMs: 20,
  /**
   * Largest document state (approximate bytes of its stored JSON, tracked per changed node inside
   * the isolate, never by serializing the whole state); a change that passes it is refused with
   * STATE_TOO_LARGE.
   */
  maxStateBytes: 4 * 1024 * 1024,
  /** Largest view one viewer may get (approximate bytes); a larger one closes that stream alone with VIEW_TOO_LARGE. */
  maxViewBytes: 8 * 1024 * 1024,
  /** Streams attached to one document; more are refused with TOO_MANY_VIEWERS. */
  maxViewersPerDocument: 10_000,
  /** Documents loaded on this host at once; loading or creating one more is refused with TOO_MANY_DOCUMENTS. */
  maxLoadedDocuments: 10_000,
  /** Most documents one document/list page returns (a larger `limit` is lowered to this). */
  maxListPage: 1000,
  /** Write a snapshot after this many log records since the last one. Lower = faster loads, more writes. */
  snapshotEveryRecords: 200,
  /** Log records kept behind the snapshot so that clients can resume with `since`; older ones are trimmed. */
  keepHistoryRecords: 500,
  /** Recent records kept in memory per document to serve resumes without a database read. */
  memoryHistoryRecords: 128,
  /** Unload a document after this long with no streams (ms); its state is already durable. */
  idleUnloadMs: 60_000,
  /** Dedupe keys remembered per document, so a retried send is applied once. */
  dedupeKeysPerDocument: 1024,
  /** Time given to in-flight changes on shutdown before the process exits anyway (ms). */
  shutdownGraceMs: 10_000,
} as const;

export const proxyDefaults = {
  /** Largest accepted client frame (bytes); larger frames get FRAME_TOO_LARGE and the socket stays open. */
  maxFrameBytes: 64 * 1024,
  /** Frames above this are not even buffered: the socket is closed (WebSocket 1009). */
  hardMaxFrameBytes: 1024 * 1024,
  /** Document streams one socket may carry. */
  maxStreamsPerSocket: 128,
  /** Unacknowledged connection/send requests per stream. */
  maxPendingSendsPerStream: 64,
  /** Bytes queued to a socket before it is treated as a slow consumer and closed (SLOW_CONSUMER). */
  maxBufferedBytes: 8 * 1024 * 1024,
  /** Interval of server pings (ms). */
  pingIntervalMs: 1000,
  /** A socket that has not answered a ping for this long is closed (ms). */
  pongTimeoutMs: 10_000,
  /** Delay before a stream whose document moved is re-attached (ms, doubled per retry up to 2 s). */
  rerouteBackoffMs: 50,

  // Edge limits (docs/security.md). Rates are token buckets: `PerSec` refills, `Burst` is the
  // capacity. They are shared by every proxy through Redis when one is configured, else per
  // process. Over a limit the client gets RATE_LIMITED (retryable, with `retryAfterMs`); its
  // socket stays open. Per-IP limits are coarse ceilings (many users may share an address behind a
  // NAT), so they are set well above the per-principal ones.

  /** New sockets per client address per second. */
  socketsPerIpPerSec: 50,
  socketsPerIpBurst: 200,
  /** `auth` per principal per second (each socket authenticates once). */
  socketsPerPrincipalPerSec: 10,
  socketsPerPrincipalBurst: 40,
  /** Sockets one principal may hold open on one proxy at once (TOO_MANY_SOCKETS past it). */
  maxSocketsPerPrincipal: 64,
  /** New document streams (and document creates) per principal per second. */
  streamsPerPrincipalPerSec: 100,
  streamsPerPrincipalBurst: 200,
  /** New document streams per client address per second. */
  streamsPerIpPerSec: 1000,
  streamsPerIpBurst: 2000,
  /** Sends and viewer updates per principal per second; each costs a log append, so this is the one that matters. */
  messagesPerPrincipalPerSec: 500,
  messagesPerPrincipalBurst: 1000,
  /** Sends and viewer updates per client address per second. */
  messagesPerIpPerSec: 20_000,
  messagesPerIpBurst: 40_000,
  /** Largest message to a channel (bytes of JSON); MESSAGE_TOO_LARGE past it. Per-space overrides: edge config. */
  maxMessageBytes: 32 * 1024,
} as const;

export type HostConfig = { -readonly [K in keyof typeof hostDefaults]: number };
export type ProxyConfig = { -readonly [K in keyof typeof proxyDefaults]: number };

/** Fields where 0 is a documented setting ("off"); every other field must be a positive integer. */
const ZERO_MEANS_OFF: ReadonlySet<string> = new Set(['sandboxSyncSliceMs']);

const positiveInts = <T extends Record<string, number>>(defaults: T) =>
  z.object(Object.fromEntries(Object.keys(defaults).map((k) => [k, ZERO_MEANS_OFF.has(k) ? z.coerce.number().int().nonnegative() : z.coerce.number().int().positive()])) as Record<keyof T, z.ZodNumber>).strict();

function envFor(field: string): string {
  return 'ADAMA_' + field.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

/** Layers defaults < env < overrides, validates, freezes. Throws with every problem listed. */
export function resolveConfig<T extends Record<string, number>>(
  defaults: T,
  overrides: Partial<Record<keyof T, unknown>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Readonly<{ -readonly [K in keyof T]: number }> {
  const fromEnv: Record<string, string> = {};
  for (const k of Object.keys(defaults)) {
    const v = env[envFor(k)];
    if (v !== undefined) fromEnv[k] = v;
  }
  const merged = { ...defaults, ...fromEnv, ...overrides };
  const parsed = positiveInts(defaults).safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return Object.freeze(parsed.data) as never;
}
