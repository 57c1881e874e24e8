/**
 * @module args
 * `npm run bench -- [--only chat,pair,viewers,stack,split] [--out file.json]`: which workloads run
 * (default all) and where the JSON summary goes. Pure: no I/O, so it is unit-tested.
 */

/** The workloads with Colyseus as the peer (bench/peer/peer-bench.ts), in run order. */
export const PEER_WORKLOADS = ['chat', 'pair', 'viewers', 'cards'] as const;
export type PeerWorkload = (typeof PEER_WORKLOADS)[number];

export const ALL_WORKLOADS = [...PEER_WORKLOADS, 'stack', 'split'] as const;
export type Workload = (typeof ALL_WORKLOADS)[number];

export interface BenchArgs {
  only: ReadonlySet<Workload>;
  /** The peer workloads among `only`, in run order. */
  peer: PeerWorkload[];
  out?: string;
}

/** Parses argv (after the script); BENCH_ONLY is the same list as --only. Throws on an unknown workload or flag. */
export function parseBenchArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchArgs {
  let onlyRaw = env.BENCH_ONLY;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--only') onlyRaw = value();
    else if (flag === '--out') out = value();
    else throw new Error(`unknown argument ${a} (expected --only ${ALL_WORKLOADS.join(',')} or --out FILE)`);
  }
  let only: Set<Workload> = new Set(ALL_WORKLOADS);
  if (onlyRaw !== undefined && onlyRaw !== '') {
    const names = onlyRaw.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !(ALL_WORKLOADS as readonly string[]).includes(n));
    if (unknown.length > 0) throw new Error(`unknown workload ${unknown.join(', ')} (known: ${ALL_WORKLOADS.join(', ')})`);
    only = new Set(names as Workload[]);
  }
  return { only, peer: PEER_WORKLOADS.filter((w) => only.has(w)), ...(out !== undefined ? { out } : {}) };
}
