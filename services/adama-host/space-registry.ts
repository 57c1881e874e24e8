/**
 * @module space-registry
 * One sandbox per deployed space version on this host, created on first use. Documents load with
 * the newest version; documents already loaded keep the version they started with.
 *
 * Bounded under churn (issue 18.6): the code of a version is fetched once (versions are
 * immutable), and a superseded version's sandbox (its isolate pool) is disposed as soon as the
 * last document using it leaves memory. Documents hold a version with `acquire` and give it back
 * with the release function it returns.
 */
import type { DataService } from '../storage/data-service';
import { AdamaError, E } from '../shared/errors';
import type { SandboxFactory, SandboxLimits, SpaceSandbox } from '../runtime/space-sandbox';
import { pooledSandboxFactory } from '../runtime/pooled-sandbox';

/**
 * Isolates per space per host. One: calls run synchronously on the event loop (the sync slice,
 * isolated-sandbox.ts), so a second isolate adds parallelism only to a space that has gone slow,
 * while it halves the traffic each isolate's JIT learns from and costs a heap of its own
 * (measured: the chat benchmark's first run cost 0.134 ms of CPU per delivery with two, 0.092
 * with one; the same once warm). pooled-sandbox.ts still serves a pool when asked for one.
 */
export const DEFAULT_ISOLATES_PER_SPACE = 1;

interface Entry { space: string; version: number; sandbox: Promise<SpaceSandbox>; users: number }

export class SpaceRegistry {
  private readonly entries = new Map<string, Entry>();
  /** The newest version seen per space: older entries are disposed once unused. */
  private readonly newest = new Map<string, number>();
  private readonly factory: SandboxFactory;
  constructor(private readonly data: DataService, factory: SandboxFactory, private readonly limits: SandboxLimits, isolatesPerSpace = DEFAULT_ISOLATES_PER_SPACE) {
    this.factory = pooledSandboxFactory(factory, isolatesPerSpace);
  }

  /** Sandboxes (versions) held right now; returns to the number of live versions after churn. */
  get size(): number { return this.entries.size; }

  /** The sandbox for the newest deployed version of `space`, without holding it (document creation). */
  async latest(space: string): Promise<SpaceSandbox> {
    const { sandbox, release } = await this.acquire(space);
    release();
    return sandbox;
  }

  /** The newest version's sandbox, held until `release` is called (once). */
  async acquire(space: string): Promise<{ sandbox: SpaceSandbox; release: () => void }> {
    const version = await this.data.getSpaceVersion(space);
    if (version === null) throw new AdamaError(E.SPACE_NOT_FOUND, `space ${space} is not deployed`);
    const id = `${space}@${version}`;
    let entry = this.entries.get(id);
    if (!entry) {
      // Only a version this host has not compiled yet costs a read of its code.
      const code = this.data.getSpace(space).then((v) => {
        if (!v) throw new AdamaError(E.SPACE_NOT_FOUND, `space ${space} is not deployed`);
        return v;
      });
      const sandbox = code.then((v) => this.factory(space, v.code, this.limits));
      entry = { space, version, sandbox, users: 0 };
      this.entries.set(id, entry);
      // A version that fails to compile is not cached, so a fixed redeploy is picked up.
      const failed = entry;
      sandbox.catch(() => { if (this.entries.get(id) === failed) this.entries.delete(id); });
    }
    if (version > (this.newest.get(space) ?? -1)) {
      this.newest.set(space, version);
      this.sweep(space);
    }
    entry.users++;
    const held = entry;
    try {
      const sandbox = await held.sandbox;
      let released = false;
      return { sandbox, release: () => { if (!released) { released = true; held.users--; this.sweep(space); } } };
    } catch (err) {
      held.users--;
      throw err;
    }
  }

  dispose(): void {
    for (const e of this.entries.values()) e.sandbox.then((sb) => sb.dispose(), () => undefined);
    this.entries.clear();
  }

  /** Disposes every superseded version of `space` that no document holds. */
  private sweep(space: string): void {
    const newest = this.newest.get(space);
    for (const [id, e] of this.entries) {
      if (e.space !== space || e.version === newest || e.users > 0) continue;
      this.entries.delete(id);
      e.sandbox.then((sb) => sb.dispose(), () => undefined);
    }
  }
}
