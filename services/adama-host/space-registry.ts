/**
 * @module space-registry
 * One sandbox per deployed space version on this host, created on first use. Documents load with
 * the newest version; documents already loaded keep the version they started with.
 */
import type { DataService } from '../storage/data-service';
import { AdamaError, E } from '../shared/errors';
import type { SandboxFactory, SandboxLimits, SpaceSandbox } from '../runtime/space-sandbox';
import { pooledSandboxFactory } from '../runtime/pooled-sandbox';

/** Isolates per space per host: calls of different documents run in parallel on isolated-vm's threads. */
export const DEFAULT_ISOLATES_PER_SPACE = 2;

export class SpaceRegistry {
  private readonly sandboxes = new Map<string, Promise<SpaceSandbox>>();
  private readonly factory: SandboxFactory;
  constructor(private readonly data: DataService, factory: SandboxFactory, private readonly limits: SandboxLimits, isolatesPerSpace = DEFAULT_ISOLATES_PER_SPACE) {
    this.factory = pooledSandboxFactory(factory, isolatesPerSpace);
  }

  /** The sandbox for the newest deployed version of `space`. */
  async latest(space: string): Promise<SpaceSandbox> {
    const version = await this.data.getSpace(space);
    if (!version) throw new AdamaError(E.SPACE_NOT_FOUND, `space ${space} is not deployed`);
    const id = `${space}@${version.version}`;
    let sandbox = this.sandboxes.get(id);
    if (!sandbox) {
      sandbox = this.factory(space, version.code, this.limits);
      this.sandboxes.set(id, sandbox);
      // A version that fails to compile is not cached, so a fixed redeploy is picked up.
      sandbox.catch(() => this.sandboxes.delete(id));
    }
    return sandbox;
  }

  dispose(): void {
    for (const s of this.sandboxes.values()) s.then((sb) => sb.dispose(), () => undefined);
    this.sandboxes.clear();
  }
}
