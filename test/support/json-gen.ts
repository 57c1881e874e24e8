/**
 * Seeded random JSON values and plausible next versions of them (list inserts, removals, moves and
 * edits dominate, with some type changes), for property tests of the delta encoding and of
 * everything that consumes deltas. Seeded (prng.ts), so a failing run replays from its seed.
 */
import type { Json, JsonObject } from '../../services/shared/json';
import { mulberry32 } from './prng';

/** Freezes `v` and everything in it, so a test proves that code reading it never mutates it. */
export function deepFreeze<T extends Json>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const child of Object.values(v)) deepFreeze(child as Json);
    Object.freeze(v);
  }
  return v;
}

export class Gen {
  private readonly next: () => number;
  private fresh = 0;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  freshId(numeric: boolean): string | number {
    this.fresh++;
    return numeric ? 1000 + this.fresh : `n${this.fresh}`;
  }
}

const KEYS = ['a', 'b', 'c', 'text', 'id', 'list', '__proto__'] as const;

function primitive(g: Gen, nullable: boolean): Json {
  switch (g.int(nullable ? 5 : 4)) {
    case 0: return g.chance(0.5);
    case 1: return g.int(100) - 50;
    case 2: return g.int(800) / 8 + 0.5;
    case 3: return g.pick(['', 'x', 'hello', '1', '@not-a-key']);
    default: return null;
  }
}

/** Object members are never null: RFC 7386 cannot tell a null member from an absent one. */
export function value(g: Gen, depth: number, nullable: boolean): Json {
  if (depth <= 0) return primitive(g, nullable);
  switch (g.int(5)) {
    case 0: return primitive(g, nullable);
    case 1: {
      const o: JsonObject = {};
      for (let i = g.int(4); i > 0; i--) Object.defineProperty(o, g.pick(KEYS), { value: value(g, depth - 1, false), enumerable: true, writable: true, configurable: true });
      return o;
    }
    case 2: return Array.from({ length: g.int(4) }, () => value(g, depth - 1, true));
    default: return list(g, depth);
  }
}

function element(g: Gen, id: Json, depth: number): JsonObject {
  const el: JsonObject = { id, text: g.pick(['hi', 'yo', 'hey']) };
  if (g.chance(0.4)) el.more = value(g, depth - 1, false);
  return el;
}

export function list(g: Gen, depth: number): Json {
  const numeric = g.chance(0.3);
  const out = Array.from({ length: 1 + g.int(6) }, () => element(g, g.freshId(numeric), depth));
  if (g.chance(0.1)) out.push(element(g, (out[0] as JsonObject).id as Json, depth)); // duplicate: stays atomic
  return out;
}

const isKeyedList = (v: Json): v is JsonObject[] =>
  Array.isArray(v) && v.length > 0 && v.every((e) => typeof e === 'object' && e !== null && !Array.isArray(e) && 'id' in e);

/** A plausible next version: list edits (insert, remove, move, change) dominate, with some type changes. */
export function mutate(g: Gen, v: Json, depth: number, nullable: boolean): Json {
  if (g.chance(0.1)) return value(g, depth, nullable);
  if (isKeyedList(v)) {
    const out = v.map((e) => (g.chance(0.2) ? { ...e, text: `${String(e.text)}!`, more: e.more === undefined ? value(g, depth - 1, false) : mutate(g, e.more, depth - 1, false) } : e));
    for (let i = g.int(3); i > 0 && out.length > 0; i--) out.splice(g.int(out.length), 1);
    for (let i = g.int(3); i > 0; i--) out.splice(g.int(out.length + 1), 0, element(g, g.freshId(g.chance(0.3)), depth));
    if (g.chance(0.3) && out.length > 1) out.splice(g.int(out.length), 0, ...out.splice(g.int(out.length), 1));
    if (g.chance(0.1)) out.reverse();
    return out;
  }
  if (Array.isArray(v)) return g.chance(0.5) ? v : [...v, primitive(g, true)];
  if (typeof v === 'object' && v !== null) {
    const o: JsonObject = {};
    for (const k of Object.keys(v)) {
      if (g.chance(0.15)) continue;
      Object.defineProperty(o, k, { value: g.chance(0.4) ? mutate(g, v[k] as Json, depth - 1, false) : v[k], enumerable: true, writable: true, configurable: true });
    }
    if (g.chance(0.3)) o[g.pick(['a', 'b', 'c', 'list'])] = value(g, depth - 1, false);
    return o;
  }
  return g.chance(0.5) ? v : primitive(g, nullable);
}

