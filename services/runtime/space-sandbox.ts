/**
 * @module space-sandbox
 * The boundary between a host and a space's untrusted code. The sandbox is stateless: the
 * document's state lives on the host side as JSON and is passed in and out of every call, so a
 * sandbox that is torn down (timeout, memory limit) loses nothing and other documents keep going.
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
  init(arg: Json, ctx: CallContext): Promise<Json>;
  connect(state: Json, who: Who, ctx: CallContext): Promise<{ allow: boolean; state: Json }>;
  disconnect(state: Json, who: Who, ctx: CallContext): Promise<{ state: Json }>;
  send(state: Json, channel: string, message: Json, who: Who, ctx: CallContext): Promise<{ state: Json }>;
  /** Each viewer's private view of `state`, in the order given (one sandbox call for all of them). */
  views(state: Json, viewers: readonly Viewer[]): Promise<Json[]>;
  dispose(): void;
}

export interface SandboxLimits {
  /** Heap limit of the isolate in MiB; a space that passes it gets SPACE_MEMORY_LIMIT. Minimum 8. */
  memoryLimitMb: number;
  /** CPU time one call may take before it is stopped with SPACE_TIMEOUT. */
  callTimeoutMs: number;
}

export type SandboxFactory = (space: string, code: string, limits: SandboxLimits) => Promise<SpaceSandbox>;
