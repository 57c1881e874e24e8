/**
 * @module isolated-sandbox
 * A `SpaceSandbox` on isolated-vm: one V8 isolate per space per host, with its own heap limit and
 * a timeout on every call. Node's `vm` module shares the host's heap and event loop, so it cannot
 * stop an infinite loop or an allocation bomb; a separate isolate can.
 *
 * Nothing durable lives in the isolate (the host keeps every committed state and record, see
 * living-document.ts), which is what makes recovery simple: when V8 kills the isolate for passing
 * its memory limit, the next call compiles the space again into a fresh isolate, the documents
 * resident in it are rebuilt by their owners, and nothing is lost. Only strings cross the boundary (copying a string is cheap;
 * copying object graphs between isolates is not).
 *
 * Where a call runs: isolated-vm's async API hands every call to a worker thread and back, which
 * costs several times the work of a typical handler (measured: ~35 µs per empty call idle and
 * 150-300 µs of the event loop's time under load, against ~5 µs synchronously). So a call first
 * runs synchronously with a short limit (`syncSliceMs`); one that outruns it is stopped (V8
 * terminates the script; the isolate survives) and run again asynchronously with the full
 * `callTimeoutMs`, and the space's calls stay asynchronous for SLOW_SPACE_MS. Re-running is safe
 * because a stopped call leaves nothing behind: a handler works on a draft that is only adopted
 * when it returns, a publish resumes its own progress (`retry` re-runs the view it was in rather
 * than failing it), and replays skip what they already applied. A runaway space therefore stalls
 * the event loop for at most one slice now and then, and then burns a worker thread as before.
 */
import ivm from 'isolated-vm';
import { AdamaError, E, type ErrorEntry } from '../shared/errors';
import type { Json } from '../shared/json';
import type { Who } from '../shared/identity';
import type { CallContext, PublishRequest, ResidentDocument, SandboxFactory, SandboxLimits, SpaceSandbox, StepRequest, StepResult, Viewer, ViewGroup } from './space-sandbox';
import { bootstrapSource, type FailKind, type SpaceShape } from './sandbox-bootstrap';

/** isolated-vm refuses smaller heaps, and below this V8 cannot even build a context reliably. */
const MIN_MEMORY_LIMIT_MB = 8;
/** How long a space whose call outran the synchronous slice runs off the event loop. */
const SLOW_SPACE_MS = 30_000;
/** The trailing argument that tells the bootstrap a call is the re-run of one that was stopped. */
const RETRY = 'retry';

/** A live isolate with the space compiled into it. */
interface Instance {
  isolate: ivm.Isolate;
  dispatch: ivm.Reference<(...args: string[]) => string>;
}

type Envelope = { ok: Json } | { fail: FailKind; message: string };

const FAIL_ENTRY: Record<FailKind, ErrorEntry> = {
  compile: E.SPACE_COMPILE_ERROR,
  rejected: E.SPACE_REJECTED,
  error: E.SPACE_ERROR,
  invalid: E.SPACE_INVALID_RESULT,
  nochannel: E.CHANNEL_NOT_FOUND,
  toolarge: E.STATE_TOO_LARGE,
  nodoc: E.SPACE_DOC_LOST,
};

export const createIsolatedSandbox: SandboxFactory = async (space, code, limits) => {
  const callTimeoutMs = Math.max(1, limits.callTimeoutMs);
  const effective: SandboxLimits = {
    memoryLimitMb: Math.max(MIN_MEMORY_LIMIT_MB, limits.memoryLimitMb),
    callTimeoutMs,
    // A slice as long as the whole limit would only add a second run of a call that timed out.
    syncSliceMs: Math.min(Math.max(0, limits.syncSliceMs ?? 0), callTimeoutMs - 1),
    onSlowCall: limits.onSlowCall,
  };
  const { instance, shape } = await compileSpace(space, code, effective);
  return new IsolatedSandbox(space, code, effective, instance, shape);
};

class IsolatedSandbox implements SpaceSandbox {
  readonly channels: readonly string[];
  readonly invent: boolean;
  readonly httpChannels: readonly string[];
  /** Bumped whenever the isolate is replaced: documents opened in an older one are lost. */
  generation = 0;
  /** Documents open in this isolate, for pools that pin documents to the least loaded one. */
  openDocuments = 0;
  private readonly hasConnect: boolean;
  private readonly hasDisconnect: boolean;
  /** null after a memory-limit kill until the next call compiles a fresh isolate. */
  private instance: Instance | null;
  private disposed = false;
  /**
   * Calls run one at a time. isolated-vm would queue them itself, but then a call's timeout could
   * start while it waits behind another, and two calls could race to replace a killed isolate.
   */
  private tail: Promise<unknown> = Promise.resolve();
  /** Until then (ms since epoch) every call runs asynchronously: a recent call outran the slice. */
  private slowUntilMs = 0;
  /** Calls that outran the synchronous slice (tests and diagnostics). */
  slowCalls = 0;

  constructor(
    readonly space: string,
    private readonly code: string,
    private readonly limits: SandboxLimits,
    instance: Instance,
    shape: SpaceShape,
  ) {
    this.instance = instance;
    this.channels = Object.freeze([...shape.channels]);
    this.invent = shape.invent;
    this.httpChannels = Object.freeze([...shape.httpChannels]);
    this.hasConnect = shape.hasConnect;
    this.hasDisconnect = shape.hasDisconnect;
  }

  async init(arg: Json, ctx: CallContext): Promise<Json> {
    return this.call('init', [json(arg), spaceCtx(ctx)]);
  }

  async connect(state: Json, who: Who, ctx: CallContext): Promise<{ allow: boolean; state: Json }> {
    if (!this.hasConnect) return { allow: true, state };
    const out = (await this.call('connect', [json(state), json(who), spaceCtx(ctx)])) as { allow: boolean; state: Json };
    return { allow: out.allow === true, state: out.state };
  }

  async disconnect(state: Json, who: Who, ctx: CallContext): Promise<{ state: Json }> {
    if (!this.hasDisconnect) return { state };
    return { state: await this.call('disconnect', [json(state), json(who), spaceCtx(ctx)]) };
  }

  async send(state: Json, channel: string, message: Json, who: Who, ctx: CallContext): Promise<{ state: Json }> {
    // Checked here as well as inside the isolate so that a typo costs no isolate round trip.
    if (!this.channels.includes(channel)) throw new AdamaError(E.CHANNEL_NOT_FOUND, `space ${this.space} has no channel ${channel}`);
    return { state: await this.call('send', [json(state), channel, json(message), json(who), spaceCtx(ctx)]) };
  }

  async canList(who: Who): Promise<boolean> {
    return (await this.call('canList', [json(who)])) === true;
  }

  async views(state: Json, viewers: readonly Viewer[]): Promise<Json[]> {
    if (viewers.length === 0) return [];
    return (await this.call('views', [json(state), json(viewers)])) as Json[];
  }

  async open(id: string, encoded: Json, seq: number): Promise<ResidentDocument> {
    const generation = this.generation;
    await this.call('open', [id, json(encoded), String(seq)]);
    this.openDocuments++;
    return new IsolatedDocument(this, id, generation);
  }

  /** @internal used by IsolatedDocument: one resident op on this isolate's queue. */
  residentCall(op: string, args: string[]): Promise<Json> { return this.call(op, args); }

  /** @internal the budget a publish call gives itself before yielding, well inside the limit it runs under. */
  get publishBudgetMs(): number { return Math.max(1, Math.floor((this.runsSync() ? this.limits.syncSliceMs! : this.limits.callTimeoutMs) / 4)); }

  private runsSync(): boolean { return (this.limits.syncSliceMs ?? 0) > 0 && Date.now() >= this.slowUntilMs; }

  /** @internal for tests: kills the isolate as V8 does at its memory limit. */
  killForTest(): void { this.instance?.isolate.dispose(); }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const isolate = this.instance?.isolate;
    this.instance = null;
    if (isolate !== undefined && !isolate.isDisposed) isolate.dispose();
  }

  private call(op: string, args: string[]): Promise<Json> {
    const run = this.tail.then(() => this.callNow(op, args));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async callNow(op: string, args: string[]): Promise<Json> {
    if (this.disposed) throw new AdamaError(E.DOC_UNLOADED, `sandbox for space ${this.space} was disposed`);
    const instance = this.instance ?? (await this.recompile());
    const copy = { arguments: { copy: true }, result: { copy: true } } as const;
    let raw: unknown;
    let retry = false;
    if (this.runsSync()) {
      try {
        raw = instance.dispatch.applySync(undefined, [op, ...args], { ...copy, timeout: this.limits.syncSliceMs! });
      } catch (err) {
        if (!isTimeout(err) || instance.isolate.isDisposed) throw this.mapIsolateFailure(instance, err);
        this.slowCalls++;
        this.slowUntilMs = Date.now() + SLOW_SPACE_MS;
        this.limits.onSlowCall?.(this.space, op);
        retry = true;
      }
      if (!retry) return unwrap(raw, this.space);
    }
    try {
      raw = await instance.dispatch.apply(undefined, retry ? [op, ...args, RETRY] : [op, ...args], { ...copy, timeout: this.limits.callTimeoutMs });
    } catch (err) {
      throw this.mapIsolateFailure(instance, err);
    }
    return unwrap(raw, this.space);
  }

  /** Replaces an isolate V8 killed; runs inside the call queue, so two calls never both rebuild. */
  private async recompile(): Promise<Instance> {
    const { instance } = await compileSpace(this.space, this.code, this.limits);
    if (this.disposed) {
      // dispose() ran while we were compiling; do not resurrect the sandbox.
      instance.isolate.dispose();
      throw new AdamaError(E.DOC_UNLOADED, `sandbox for space ${this.space} was disposed`);
    }
    this.instance = instance;
    return instance;
  }

  /** Turns what isolated-vm threw (the space's own exceptions never get here) into a registry error. */
  private mapIsolateFailure(instance: Instance, err: unknown): AdamaError {
    if (this.disposed) return new AdamaError(E.DOC_UNLOADED, `sandbox for space ${this.space} was disposed`, { cause: err });
    if (instance.isolate.isDisposed) {
      // V8 killed the isolate for passing its heap limit. Drop it; the next call recompiles.
      // Every document resident in it is lost with it; their owners rebuild them (generation).
      if (this.instance === instance) { this.instance = null; this.generation++; this.openDocuments = 0; }
      return new AdamaError(E.SPACE_MEMORY_LIMIT, `space ${this.space} exceeded its ${this.limits.memoryLimitMb} MiB memory limit`, { cause: err });
    }
    if (isTimeout(err)) {
      // The isolate survives a timeout (V8 terminates only the running script), so it is kept.
      return new AdamaError(E.SPACE_TIMEOUT, `space ${this.space} ran past its ${this.limits.callTimeoutMs} ms call limit`, { cause: err });
    }
    return new AdamaError(E.SPACE_ERROR, `space ${this.space} failed: ${messageOf(err)}`, { cause: err });
  }
}

/** A document resident in one IsolatedSandbox's isolate; lost when that isolate is replaced. */
class IsolatedDocument implements ResidentDocument {
  private closed = false;
  constructor(private readonly owner: IsolatedSandbox, private readonly id: string, private readonly generation: number) {}

  get lost(): boolean { return this.closed || this.owner.generation !== this.generation; }

  async step(request: StepRequest): Promise<StepResult> {
    const { ctx } = request;
    const speculate = request.kind === 'send' && request.speculate ? { maxViewBytes: request.speculate.maxViewBytes, budgetMs: this.owner.publishBudgetMs } : undefined;
    const payload = { ...request, ctx: { space: ctx.space, key: ctx.key, now: ctx.nowMs, seq: ctx.seq }, speculate };
    return (await this.call('step', [JSON.stringify(payload)])) as unknown as StepResult;
  }

  async rollback(): Promise<void> { await this.call('rollback', []); }

  async replay(records: readonly { seq: number; redo: Json }[]): Promise<void> {
    if (records.length > 0) await this.call('replay', [JSON.stringify(records.map((r) => [r.seq, r.redo]))]);
  }

  /** Commits and publishes; a publish that yields (its time budget ran out) is continued. */
  async publish(request: PublishRequest): Promise<ViewGroup[]> {
    const limits = { maxViewBytes: request.maxViewBytes, budgetMs: this.owner.publishBudgetMs };
    let out: Json;
    try {
      out = await this.call('publish', [JSON.stringify({ ...request, reset: request.reset === true, ...limits })]);
    } catch (err) {
      out = await this.continueAfter(err, limits);
    }
    for (;;) {
      const answer = out as { more?: boolean; groups?: ViewGroup[] };
      if (answer.groups) return answer.groups;
      // The publish used up its budget: let the event loop run before the next slice of views.
      await new Promise<void>((resolve) => setImmediate(resolve));
      try {
        out = await this.call('continue', [JSON.stringify(limits)]);
      } catch (err) {
        out = await this.continueAfter(err, limits);
      }
    }
  }

  async state(committed?: number): Promise<Json> { return this.call('state', committed === undefined ? [] : [String(committed)]); }

  async canDelete(who: Who, committed: number): Promise<boolean> {
    return (await this.call('canDelete', [JSON.stringify({ who, committed })])) === true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.lost) return;
    this.owner.openDocuments--;
    void this.owner.residentCall('close', [this.id]).catch(() => undefined);
  }

  /**
   * A timeout stopped one viewer's view (the isolate survives): continuing fails that viewer
   * alone and serves the rest. Anything else (the isolate died) goes to the caller, who rebuilds.
   */
  private continueAfter(err: unknown, limits: object): Promise<Json> {
    if (!(err instanceof AdamaError) || err.entry !== E.SPACE_TIMEOUT || this.lost) throw err;
    return this.call('continue', [JSON.stringify(limits)]);
  }

  private call(op: string, args: string[]): Promise<Json> {
    if (this.lost) return Promise.reject(new AdamaError(E.SPACE_DOC_LOST, `document ${this.id} is no longer resident in space ${this.owner.space}'s isolate`));
    return this.owner.residentCall(op, [this.id, ...args]);
  }
}

/**
 * Creates an isolate, runs the bootstrap and then the space's code in it, and asks the bootstrap
 * to describe the exports. Every failure on the way is a SPACE_COMPILE_ERROR whose message says
 * why, and the half-built isolate is disposed so a bad deploy leaks nothing.
 */
async function compileSpace(space: string, code: string, limits: SandboxLimits): Promise<{ instance: Instance; shape: SpaceShape }> {
  const isolate = new ivm.Isolate({ memoryLimit: limits.memoryLimitMb });
  const timeout = limits.callTimeoutMs;
  try {
    const context = await isolate.createContext();
    const boot = await isolate.compileScript(bootstrapSource(), { filename: 'adama:bootstrap.js' });
    const dispatch = (await boot.run(context, { reference: true, timeout })) as Instance['dispatch'];
    const script = await stage('does not compile', () => isolate.compileScript(code, { filename: `space:${space}.js` }));
    // The script's completion value is usually the exports object, which cannot be copied out;
    // taking it as a reference and releasing it avoids a spurious "non-transferable" failure.
    const completion = await stage('threw while loading', () => script.run(context, { reference: true, timeout }));
    completion.release();
    const raw = await stage('could not be inspected', () =>
      dispatch.apply(undefined, ['describe'], { timeout, result: { copy: true } }),
    );
    const shape = unwrap(raw, space) as unknown as SpaceShape;
    return { instance: { isolate, dispatch }, shape };
  } catch (err) {
    const failure =
      err instanceof AdamaError && err.entry.code === E.SPACE_COMPILE_ERROR.code
        ? err
        : new AdamaError(E.SPACE_COMPILE_ERROR, `space ${space}: ${messageOf(err)}`, { cause: err });
    if (!isolate.isDisposed) isolate.dispose();
    throw failure;
  }

  /** Runs one step of loading and says which step failed, and whether a limit was the reason. */
  async function stage<T>(what: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      const reason = isolate.isDisposed
        ? `exceeded its ${limits.memoryLimitMb} MiB memory limit`
        : isTimeout(err)
          ? `did not finish within ${timeout} ms`
          : messageOf(err);
      throw new AdamaError(E.SPACE_COMPILE_ERROR, `space ${space} ${what}: ${reason}`, { cause: err });
    }
  }
}

/** Parses the bootstrap's envelope and throws the registry error a failure maps to. */
function unwrap(raw: unknown, space: string): Json {
  let envelope: Envelope | null = null;
  try {
    if (typeof raw === 'string') envelope = JSON.parse(raw) as Envelope;
  } catch {
    // Falls through: only a tampered bootstrap could produce this.
  }
  if (envelope === null || typeof envelope !== 'object') {
    throw new AdamaError(E.SPACE_INVALID_RESULT, `space ${space} returned something that is not a JSON envelope`);
  }
  if ('ok' in envelope) return envelope.ok;
  const entry = FAIL_ENTRY[envelope.fail] ?? E.SPACE_ERROR;
  // A rejection's message is the space talking to its user, so it is passed on untouched.
  const message = entry === E.SPACE_REJECTED ? envelope.message : `space ${space}: ${envelope.message}`;
  throw new AdamaError(entry, message);
}

/** The ctx a space sees: plain data, so handlers never reach the host's clock. */
function spaceCtx(ctx: CallContext): string {
  return JSON.stringify({ space: ctx.space, key: ctx.key, now: ctx.nowMs, seq: ctx.seq });
}

/** Everything crossing into the isolate is plain data, turned to text on this side. */
function json(value: Json | Who | readonly Viewer[]): string {
  return JSON.stringify(value);
}

function isTimeout(err: unknown): boolean {
  return /timed out/i.test(messageOf(err));
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
