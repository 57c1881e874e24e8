/**
 * @module seeds
 * `--seeds` as the sidecar uses them: each `host:port` whose host is a name is resolved to every
 * address it has (a headless Service answers one per gossiping pod, its own included), our own
 * advertised address is dropped, and each round picks among the rest at random.
 *
 * Why not hand the name to gRPC: a channel to a name connects to one of its addresses and stays
 * there (pick_first). When that address was the sidecar's own, every round went to itself, a
 * member ignores its own messages, and a new pod whose address nobody else knew stayed alone
 * for good (its host was never routed to). Resolving here also lets a member that knows peers
 * find seed addresses it knows no member at (state.ts `planSeedProbe`).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** Every address of a host name. */
export type Lookup = (host: string) => Promise<string[]>;

export const systemLookup: Lookup = async (host) => (await dnsLookup(host, { all: true })).map((a) => a.address);

export interface SeedAddresses {
  /** The addresses of the last resolution (host:port), never our own. */
  current(): readonly string[];
  /** Resolves the names again, unless that ran less than `minIntervalMs` ago or is still running. */
  refresh(): void;
}

export interface SeedOptions {
  seeds: readonly string[];
  /** Our own advertised address (known only once the server listens, hence a getter). */
  self: () => string;
  minIntervalMs: number;
  lookup?: Lookup;
  nowMs?: () => number;
  /** A name that did not resolve this time (its previous addresses are kept). */
  onError?: (seed: string, err: unknown) => void;
}

/** `host:port` or `[v6]:port` → its parts; undefined when there is no port. */
export function splitHostPort(address: string): { host: string; port: string } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  return m ? { host: m[1]!, port: m[2]! } : undefined;
}

const join = (host: string, port: string): string => (isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);

export function seedAddresses(o: SeedOptions): SeedAddresses {
  const lookup = o.lookup ?? systemLookup;
  const now = o.nowMs ?? Date.now;
  const isName = (seed: string): boolean => { const hp = splitHostPort(seed); return hp !== undefined && isIP(hp.host) === 0; };
  const named = o.seeds.filter(isName);
  /** Per seed entry, the addresses of its last successful resolution; an IP seed stands for itself. */
  const resolved = new Map<string, string[]>(o.seeds.filter((s) => !isName(s)).map((s) => [s, [s]]));
  let lastAt = -Infinity;
  let running = false;
  const refresh = (): void => {
    if (named.length === 0 || running || now() - lastAt < o.minIntervalMs) return;
    running = true;
    lastAt = now();
    void Promise.all(named.map(async (seed) => {
      const { host, port } = splitHostPort(seed)!;
      try {
        resolved.set(seed, (await lookup(host)).map((ip) => join(ip, port)));
      } catch (err) {
        o.onError?.(seed, err);
      }
    })).finally(() => { running = false; });
  };
  refresh();
  return {
    current: () => {
      const self = o.self();
      return [...new Set(o.seeds.flatMap((s) => resolved.get(s) ?? []))].filter((a) => a !== self);
    },
    refresh,
  };
}
