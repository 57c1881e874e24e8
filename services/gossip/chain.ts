/**
 * @module chain
 * The instance-set chain: the current member set (sorted ids) and a bounded history of earlier
 * sets, each keyed by its hash. A peer that names a hash we know (now or earlier) can be answered
 * with a positional counter array; only when neither side knows the other's hash do full member
 * lists travel.
 */
import { setHash } from './set-hash';

export interface MemberSet {
  readonly hash: string;
  /** Sorted; position i in a counter array is ids[i]. */
  readonly ids: readonly string[];
}

export interface Chain {
  readonly current: MemberSet;
  /** Earlier sets, oldest first, at most `historySets` long; never contains `current`. */
  readonly history: readonly MemberSet[];
}

export function memberSet(sortedIds: readonly string[]): MemberSet {
  return { hash: setHash(sortedIds), ids: sortedIds };
}

export function newChain(sortedIds: readonly string[]): Chain {
  return { current: memberSet(sortedIds), history: [] };
}

/** Moves to a new current set; the old one joins the history, the oldest falls off past the bound. */
export function advanceChain(chain: Chain, sortedIds: readonly string[], historySets: number): Chain {
  const next = memberSet(sortedIds);
  if (next.hash === chain.current.hash) return chain;
  const history = [...chain.history.filter((s) => s.hash !== next.hash && s.hash !== chain.current.hash), chain.current];
  return { current: next, history: history.slice(Math.max(0, history.length - historySets)) };
}

/** The set with this hash, current first, then newest history first; undefined when unknown. */
export function lookupSet(chain: Chain, hash: string): MemberSet | undefined {
  if (chain.current.hash === hash) return chain.current;
  for (let i = chain.history.length - 1; i >= 0; i--) if (chain.history[i]!.hash === hash) return chain.history[i];
  return undefined;
}
