/**
 * @module space-sandbox
 * The boundary between a host and a space's untrusted code. A loaded document's state is resident
 * in one isolate (`open` -> `ResidentDocument`): requests cross as small strings and come back as
 * redo/undo patches, views come back as one delta per group of viewers that see the same thing.
 * Nothing durable depends on the isolate: the host keeps the committed (encoded) state and the
 * uncommitted records, and reopens the document from them when the isolate is lost
 * (`ResidentDocument.lost`). The stateless calls (`init`, `connect`/`send`/`views` with a state)
 * remain for document creation and as the reference the resident path is tested against.
 *
 * A space is a CommonJS-style script that sets `module.exports = { init, connect, disconnect,
 * channels: { name(state, message, who, ctx) }, view(state, who, viewerState) }`. Handlers mutate
 * `state` in place or return a new state object. A handler that throws a plain `Error` rejects the
 * request (SPACE_REJECTED with its message); any other exception is a bug (SPACE_ERROR).
 */
import type { Json } from '../shared/json';
import type { Who } from '../shared/identity';

/** Facts a call may read; passed in so that calls never read the host's clock. */
export interface CallContext {
  space: string;
  key: string;
  /** Milliseconds since the epoch at which the host started this call. */
  nowMs: number;
  /** The seq the change will get if it commits. */
  seq: number;
}

export interface Viewer { who: Who; viewerState: Json }

export interface SpaceSandbox {
  readonly space: string;
  readonly channels: readonly string[];
  /** The space set `invent: true`: a connect to a missing document creates it with init({}) first. */
  readonly invent: boolean;
  /** Channels that take messages over HTTP (the space's `httpChannels`); none by default. */
  readonly httpChannels: readonly string[];
  init(arg: Json, ctx: CallContext): Promise<Json>;
  connect(state: Json, who: Who, ctx: CallContext): Promise<{ allow: boolean; state: Json }>;
  disconnect(state: Json, who: Who, ctx: CallContext): Promise<{ state: Json }>;
  send(state: Json, channel: string, message: Json, who: Who, ctx: CallContext): Promise<{ state: Json }>;
  /** The space's canList(who); false when the space has none. */
  canList(who: Who): Promise<boolean>;
  /** Each viewer's private view of `state`, in the order given (one sandbox call for all of them). */
  views(state: Json, viewers: readonly Viewer[]): Promise<Json[]>;
  /** Makes `encoded` (the stored form, docs/deltas.md) the resident committed state of document `id`. */
  open(id: string, encoded: Json, seq: number): Promise<ResidentDocument>;
  dispose(): void;
}

/**
 * What one request did to the resident working state; `redo: null` means nothing changed.
 * `groups`: the views of the new working state, when the request asked to `speculate` and the
 * isolate could (see below).
 */
export interface StepResult { redo: Json | null; undo: Json | null; bytes: number; allow?: boolean; groups?: ViewGroup[] }

/** Fields every step request carries. */
interface StepCommon {
  who: Who;
  ctx: CallContext;
  maxBytes: number;
  /** The host's committed seq: the isolate commits its resident changes up to it first. */
  committed?: number;
}

export type StepRequest =
  | (StepCommon & {
    kind: 'send';
    channel: string;
    message: Json;
    /**
     * Also compute the views of the state this send leaves, before it is durable: the host holds
     * them and delivers them once the append commits, with no publish call (one isolate call
     * per message). Asked only when no other batch of the document is uncommitted and no join,
     * update or leave waits; the isolate may still decline (no `groups` then). If the change is
     * refused instead, `rollback` makes every viewer get a full view at the next publish.
     */
    speculate?: { maxViewBytes: number };
  })
  | (StepCommon & { kind: 'connect' | 'disconnect' });

export interface ViewerSpec { id: number; who: Who; viewerState: Json }

export interface PublishRequest {
  /** Commits the resident changes up to `seq` and computes views of that state. */
  seq: number;
  /** New viewers; `since` is the encoded state they last saw, for a resume delta instead of a full view. */
  join: { spec: ViewerSpec; since?: Json }[];
  update: [id: number, viewerState: Json][];
  leave: number[];
  /** Every viewer gets its full view again (after the host lost track of what they hold). */
  reset?: boolean;
  maxViewBytes: number;
}

/**
 * Viewers that get the same delta. `data` is the delta's JSON text (absent: their view did not
 * change); `fail` says why their view could not be served (they are no longer viewers then).
 */
export interface ViewGroup { ids: number[]; data?: string; reset?: boolean; fail?: { kind: string; message: string; bytes?: number } }

export interface ResidentDocument {
  /** True once the isolate holding this document was lost: reopen from the host's copy. */
  readonly lost: boolean;
  step(request: StepRequest): Promise<StepResult>;
  /** Forgets the uncommitted changes (their append was refused). */
  rollback(): Promise<void>;
  /** Re-applies records this isolate never ran (after a rebuild), oldest first. */
  replay(records: readonly { seq: number; redo: Json }[]): Promise<void>;
  publish(request: PublishRequest): Promise<ViewGroup[]>;
  /** The resident committed state, encoded, after committing up to `committed` (tests and diagnostics). */
  state(committed?: number): Promise<Json>;
  /** The space's canDelete(state, who) on the committed state up to `committed`; false when the space has none. */
  canDelete(who: Who, committed: number): Promise<boolean>;
  close(): void;
}

export interface SandboxLimits {
  /** Heap limit of the isolate in MiB; a space that passes it gets SPACE_MEMORY_LIMIT. Minimum 8. */
  memoryLimitMb: number;
  /** CPU time one call may take before it is stopped with SPACE_TIMEOUT. */
  callTimeoutMs: number;
  /**
   * Calls run on the caller's thread for up to this long (ms), then are stopped and re-run off it
   * with the full callTimeoutMs (see isolated-sandbox.ts). 0 or absent: always off the thread.
   */
  syncSliceMs?: number;
  /** Told when a call outran syncSliceMs and the space was moved off the caller's thread for a while. */
  onSlowCall?: (space: string, op: string) => void;
}

export type SandboxFactory = (space: string, code: string, limits: SandboxLimits) => Promise<SpaceSandbox>;
