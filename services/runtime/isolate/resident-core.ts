/**
 * @module resident-core
 * Runs INSIDE a space's isolate (isolate-source.ts loads this file's compiled text into every
 * isolate; it must import nothing but the pure delta and json modules). It keeps each document's
 * committed state resident, runs handlers against copy-on-write drafts, and computes views.
 *
 * Why drafts: a handler mutates what it is given. Handing it a Proxy over the committed state that
 * copies a node only when it is first written (the Immer/Mutative technique) gives a new state that
 * shares every untouched subtree with the old one, and a throw simply drops the draft. Committed
 * nodes are frozen and never change, so their encodings are cached by identity (delta.encode's
 * cache): `diff(encode(before), encode(after))` then meets the same encoded object for every
 * untouched subtree and returns at once. The redo and undo it yields are byte-for-byte the patches
 * a whole-state diff would produce (the log format does not change), at the cost of the path the
 * handler touched plus one scan of each list it changed.
 *
 * Views run against a draft too (a view may edit what it is given, e.g. delete other players'
 * hands; the edit stays in the discarded draft). A view result that returns committed subtrees
 * shares them, so viewers whose views are built from the same committed nodes and equal fresh
 * parts get the same fingerprint, and one encode + one diff serves them all.
 */
import { apply, decode, diff, encode, ORDER, type EncodeCache, type ListHints, type ObjectEdit } from '../../protocol/delta';
import type { Json } from '../../shared/json';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const isObj = (v: unknown): v is object => typeof v === 'object' && v !== null;
const hasOwn = (o: object, k: PropertyKey): boolean => Object.prototype.hasOwnProperty.call(o, k);
const freeze = Object.freeze;
const isIndex = (k: string): boolean => /^(0|[1-9][0-9]*)$/.test(k);

/** Past this many members a copy goes into a dictionary-mode object (see copyObject). */
const DICTIONARY_COPY_KEYS = 128;

/**
 * A shallow copy of a plain object. A spread of a large object builds a fast-mode object one
 * hidden-class transition per member (150 µs for 1 000 members, growing faster than linearly);
 * inserting the members into an object already in dictionary mode costs half of that.
 */
function copyObject(o: Any): Any {
  const keys = Object.keys(o);
  if (keys.length < DICTIONARY_COPY_KEYS) return { ...o };
  const out: Any = { '@dictionary': 0 };
  delete out['@dictionary']; // deleting a member puts the object in dictionary mode
  for (let i = 0; i < keys.length; i++) { const k = keys[i]!; if (k !== '__proto__') out[k] = o[k]; }
  return out;
}

/** The one key whose member a draft of an object changed, if exactly one (see Store.editedOne). */
function onlyTouched(d: Draft, copy: Any): string | undefined {
  let key: PropertyKey | undefined;
  const note = (k: PropertyKey): boolean => {
    if (key !== undefined && key !== k) return false;
    key = k;
    return true;
  };
  for (const k of d.assigned) if (!note(k)) return undefined;
  for (const k of d.removed) if (!note(k)) return undefined;
  for (const [k, child] of d.children) if (copy[k] !== child.base && !note(k)) return undefined;
  return typeof key === 'string' ? key : undefined;
}

/** A failure the bootstrap turns into an envelope of this kind (see sandbox-bootstrap.ts). */
export class CoreFailure extends Error {
  constructor(readonly kind: 'invalid' | 'toolarge', message: string) { super(message); }
}

/** Facts shared by every document of one isolate: which nodes are committed, and their encodings. */
export class Store {
  /** Every node of every committed state (frozen). Anything else a handler returns is fresh. */
  readonly committed = new WeakSet<object>();
  readonly encodings: EncodeCache = new WeakMap();
  /** Which new arrays were edited from which committed ones, and how their encodings differ (delta.ListHints). */
  readonly lists: ListHints & { edits: WeakMap<object, ObjectEdit> } = { previous: new WeakMap(), derived: new WeakMap(), edits: new WeakMap() };
  private readonly sizes = new WeakMap<object, number>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;

  encode(v: Json): Json { return encode(v, this.encodings, this.lists); }

  diff(prev: Json | undefined, next: Json): Json | undefined { return diff(prev, next, this.lists); }

  /** Records that `next` (a new array) was edited from the committed array `base`, for encode. */
  editedFrom(next: Any, base: Any): void {
    if (Array.isArray(next) && Array.isArray(base) && next !== base && this.committed.has(base)) this.lists.previous.set(next, base);
  }

  /**
   * Records that the committed object `next` is `base` with one member touched (see ObjectEdit).
   * Only one generation back, as for lists: `base` forgets its own edit, or the chain of edits
   * would keep every earlier version alive.
   */
  editedOne(next: object, base: object, key: string): void {
    this.lists.edits.delete(base);
    this.lists.edits.set(next, { from: base as ObjectEdit['from'], key });
  }

  /** Adopts a parsed value as committed: freezes it (O(size), once per load). */
  adopt(v: Any): Any {
    if (!isObj(v) || this.committed.has(v)) return v;
    for (const k of Object.keys(v)) this.adopt((v as Any)[k]);
    freeze(v);
    this.committed.add(v);
    return v;
  }

  /** Approximate JSON length of an encoded value, cached per node so a change pays for its path. */
  size(v: Json): number {
    if (v === null) return 4;
    switch (typeof v) {
      case 'string': return v.length + 2;
      case 'number': return String(v).length;
      case 'boolean': return 5;
      default: break;
    }
    const hit = this.sizes.get(v as object);
    if (hit !== undefined) return hit;
    const edit = this.lists.edits.get(v as object);
    const before = edit === undefined ? undefined : this.sizes.get(edit.from);
    if (edit !== undefined && before !== undefined) {
      const member = (o: Any): number => (hasOwn(o, edit.key) ? edit.key.length + 4 + this.size(o[edit.key]) : 0);
      const n = before - member(edit.from) + member(v);
      this.sizes.set(v as object, n);
      return n;
    }
    const derived = this.lists.derived.get(v as object);
    if (derived !== undefined) {
      const n = this.derivedSize(v as Any, derived.from as Any, derived.removed, derived.fresh);
      this.sizes.set(v as object, n);
      return n;
    }
    let n = 2;
    if (Array.isArray(v)) for (const e of v) n += this.size(e) + 1;
    else for (const k in v) if (hasOwn(v, k)) n += k.length + 4 + this.size((v as Any)[k]);
    this.sizes.set(v as object, n);
    return n;
  }

  /** size() of a list encoded from `from`: from's size adjusted by the ids that differ (same sum, no walk). */
  private derivedSize(v: Any, from: Any, removed: readonly [number, string][], fresh: readonly [number, string][]): number {
    const member = (k: string, x: Json): number => k.length + 4 + this.size(x);
    let n = this.size(from) - member(ORDER, from[ORDER]) + member(ORDER, v[ORDER]);
    for (const [, id] of removed) n -= member(id, from[id]);
    for (const [at, id] of fresh) n += member(id, v[id]) - (at >= 0 ? member(id, from[id]) : 0);
    return n;
  }

  /** A stable id for a committed node, for fingerprints. */
  idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) { id = this.nextId++; this.ids.set(o, id); }
    return id;
  }
}

interface Draft {
  base: Any;
  copy: Any | null;
  parent: Draft | null;
  /** Drafts handed out for committed children, by key; dropped when the key is reassigned. */
  children: Map<PropertyKey, Draft>;
  /** Keys written in this draft, whose values may be fresh objects or other drafts. */
  assigned: Set<PropertyKey>;
  /** Keys deleted in this draft (an object's edit may be a deletion, see finalize). */
  removed: Set<PropertyKey>;
  proxy: Any;
  final?: Any;
  /** An array method ran natively on `copy` (see bulkMethod): every index is resolved at finalize. */
  bulk?: boolean;
}

/**
 * Array methods that move many elements. Through the proxy traps, `shift()` on a list of n reads
 * and writes n indices and makes a draft of every element it moves (about 2.7 ms for n = 1000);
 * run natively on the draft's copy they cost one memmove.
 */
const BULK_METHODS = new Set<PropertyKey>(['shift', 'unshift', 'splice', 'reverse', 'sort', 'copyWithin', 'fill']);

/**
 * One handler or view call's drafts. `commit` says whether the result becomes committed state
 * (handlers) or is thrown away after the call (views: nothing is frozen or adopted).
 */
export class Session {
  private readonly byProxy = new WeakMap<object, Draft>();
  private readonly revokers: (() => void)[] = [];

  constructor(private readonly store: Store, private readonly commit: boolean) {}

  draft(base: Any, parent: Draft | null = null): Any {
    const d: Draft = { base, copy: null, parent, children: new Map(), assigned: new Set(), removed: new Set(), proxy: null };
    // A dummy target keeps the Proxy invariants away from the frozen base.
    const { proxy, revoke } = Proxy.revocable(Array.isArray(base) ? [] : {}, this.traps(d));
    d.proxy = proxy;
    this.byProxy.set(proxy, d);
    this.revokers.push(revoke);
    return proxy;
  }

  /** Stale proxies kept by a space (e.g. in a global) must not write into committed state later. */
  revokeAll(): void { for (const r of this.revokers) r(); this.revokers.length = 0; }

  /** Turns what a call returned into plain JSON data, sharing every untouched committed node. */
  resolve(v: Any): Any {
    if (!isObj(v)) return typeof v === 'number' && !Number.isFinite(v) ? null : v;
    const d = this.byProxy.get(v);
    if (d !== undefined) return this.finalize(d);
    if (this.store.committed.has(v)) return v;
    return this.fresh(v);
  }

  private finalize(d: Draft): Any {
    if (d.final !== undefined) return d.final;
    if (d.copy === null) return (d.final = d.base);
    const copy = d.copy;
    d.final = copy; // set first: a draft reachable from itself must not recurse forever
    for (const [k, child] of d.children) if (copy[k] === child.proxy || copy[k] === child.base) copy[k] = this.finalize(child);
    if (d.bulk === true) {
      for (let i = 0; i < copy.length; i++) copy[i] = i in copy ? this.element(copy[i]) : null;
      for (const k of d.assigned) if (typeof k !== 'string' || !isIndex(k)) { if (hasOwn(copy, k)) this.setResolved(copy, k, copy[k]); }
    } else {
      for (const k of d.assigned) if (hasOwn(copy, k)) this.setResolved(copy, k, copy[k]);
    }
    if (Array.isArray(copy)) for (let i = 0; i < copy.length; i++) { if (!(i in copy)) copy[i] = null; }
    this.store.editedFrom(copy, d.base);
    // A list the handler replaced with a new array (e.g. `s.list = s.list.filter(...)`) was edited too.
    if (!Array.isArray(copy)) for (const k of d.assigned) if (hasOwn(copy, k) && hasOwn(d.base, k)) this.store.editedFrom(copy[k], d.base[k]);
    if (this.commit && !Array.isArray(copy)) {
      const key = onlyTouched(d, copy);
      if (key !== undefined) this.store.editedOne(copy, d.base, key);
    }
    return this.seal(copy);
  }

  /** A value the space built in this call: normalised the way JSON.stringify would see it. */
  private fresh(v: Any): Any {
    const proto = Object.getPrototypeOf(v);
    if (Array.isArray(v)) {
      const out = new Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const e = this.resolve(v[i]);
        out[i] = e === undefined || typeof e === 'function' || typeof e === 'symbol' ? null : e;
      }
      return this.seal(out);
    }
    if (proto !== Object.prototype && proto !== null) {
      // Dates, boxed values, class instances: whatever their JSON is (toJSON included).
      const text = JSON.stringify(v);
      if (text === undefined) return undefined;
      return this.commit ? this.store.adopt(JSON.parse(text)) : JSON.parse(text);
    }
    const out: Any = {};
    for (const k of Object.keys(v)) this.setResolved(out, k, v[k]);
    return this.seal(out);
  }

  /** An array element as JSON.stringify would see it (undefined, functions and symbols become null). */
  private element(raw: Any): Any {
    const e = this.resolve(raw);
    return e === undefined || typeof e === 'function' || typeof e === 'symbol' ? null : e;
  }

  /**
   * `name` of an array draft, run on the draft's copy. The drafts handed out for its elements are
   * put in their slots first, so they move with the elements and a handler that keeps one still
   * writes into the result; removed committed elements come back as drafts, as through the traps.
   */
  private bulkMethod(d: Draft, name: PropertyKey): (...args: Any[]) => Any {
    return (...args: Any[]) => {
      const w = this.writable(d);
      for (const [k, child] of d.children) if (w[k as Any] === child.base) w[k as Any] = child.proxy;
      d.children.clear();
      d.bulk = true;
      const out = (Array.prototype as Any)[name].apply(w, args);
      if (out === w) return d.proxy;
      const asDraft = (v: Any): Any => (isObj(v) && this.store.committed.has(v) ? this.draft(v, null) : v);
      return Array.isArray(out) ? out.map(asDraft) : asDraft(out);
    };
  }

  private setResolved(o: Any, k: PropertyKey, raw: Any): void {
    const e = this.resolve(raw);
    if (Array.isArray(o)) { o[k as number] = e === undefined || typeof e === 'function' || typeof e === 'symbol' ? null : e; return; }
    if (e === undefined || typeof e === 'function' || typeof e === 'symbol') { delete o[k]; return; }
    if (k === '__proto__') Object.defineProperty(o, k, { value: e, enumerable: true, writable: true, configurable: true });
    else o[k] = e;
  }

  private seal(o: Any): Any {
    if (this.commit) { freeze(o); this.store.committed.add(o); }
    return o;
  }

  private writable(d: Draft): Any {
    if (d.copy === null) {
      // A spread, not slice(): V8's slice of a frozen array takes a slow path (24 µs against 0.3 µs for 1 000 elements).
      d.copy = Array.isArray(d.base) ? [...d.base] : copyObject(d.base);
      if (hasOwn(d.base, '__proto__')) Object.defineProperty(d.copy, '__proto__', { value: d.base.__proto__, enumerable: true, writable: true, configurable: true });
      if (d.parent !== null) this.writable(d.parent);
    }
    return d.copy;
  }

  private traps(d: Draft): ProxyHandler<Any> {
    const src = (): Any => d.copy ?? d.base;
    const read = (k: PropertyKey): Any => {
      const s = src();
      if (!hasOwn(s, k)) return Reflect.get(s, k);
      const v = s[k];
      if (!isObj(v) || !this.store.committed.has(v)) return v;
      const known = d.children.get(k);
      if (known !== undefined && known.base === v) return known.proxy;
      const proxy = this.draft(v, d);
      d.children.set(k, this.byProxy.get(proxy)!);
      return proxy;
    };
    const isArray = Array.isArray(d.base);
    return {
      get: (_t, k) => (isArray && BULK_METHODS.has(k) ? this.bulkMethod(d, k) : read(k)),
      set: (_t, k, v) => {
        const s = src();
        if (d.copy === null && hasOwn(s, k) && Object.is(s[k], v)) return true;
        const w = this.writable(d);
        if (k === '__proto__') Object.defineProperty(w, k, { value: v, enumerable: true, writable: true, configurable: true });
        else w[k] = v;
        d.children.delete(k);
        d.assigned.add(k);
        return true;
      },
      deleteProperty: (_t, k) => {
        if (!hasOwn(src(), k)) return true;
        delete this.writable(d)[k];
        d.children.delete(k);
        d.assigned.delete(k);
        d.removed.add(k);
        return true;
      },
      has: (_t, k) => k in src(),
      ownKeys: () => Reflect.ownKeys(src()),
      getOwnPropertyDescriptor: (_t, k) => {
        const desc = Reflect.getOwnPropertyDescriptor(src(), k);
        if (desc === undefined) return undefined;
        const isLength = Array.isArray(d.base) && k === 'length';
        return { value: read(k), writable: true, enumerable: desc.enumerable, configurable: !isLength };
      },
      defineProperty: (_t, k, desc) => {
        if (!('value' in desc)) return false;
        const w = this.writable(d);
        w[k] = desc.value;
        d.children.delete(k);
        d.assigned.add(k);
        return true;
      },
      getPrototypeOf: () => Object.getPrototypeOf(d.base),
      setPrototypeOf: () => false,
      preventExtensions: () => false,
    };
  }
}

/** What one handler call did: the patches and the new state's size (null redo: nothing changed). */
export interface Step { redo: Json | null; undo: Json | null; bytes: number }

export interface ViewerSpec { id: number; who: Json; viewerState: Json }

/** Viewers that get one delta together; `fail` when their view failed or was too large. */
export interface ViewGroup { ids: number[]; data?: string; reset?: boolean; fail?: { kind: string; message: string; bytes?: number } }

/** A publish in progress: viewers left to compute, then groups left to encode and diff (see publish). */
interface PublishRun {
  queue: number[];
  current: number | null;
  byKey: Map<string, { view: Json; ids: number[]; prev: ResidentViewer }>;
  fails: ViewGroup[];
  seq: number;
  /** Group keys left for the second phase; null until the first phase is done. */
  keys: string[] | null;
  byView: Map<string, { encoded: Json; group: number }>;
  out: ViewGroup[];
  updates: { ids: number[]; encoded: Json; group: number }[];
}

interface ResidentViewer { spec: ViewerSpec; last: Json | undefined; group: number; base?: Json }

export interface SpaceFns {
  view(state: Any, who: Any, viewerState: Any): Any;
  /** The space declared that view() reads neither who nor viewerState: one view per publish. */
  shared?: boolean;
}

/** The plain state of a stored (encoded) one; loading a document decodes once inside the isolate. */
export function decodeState(encoded: Json): Json { return decode(encoded); }

/** One document's resident state: committed root, uncommitted roots by seq, and its viewers. */
export class ResidentDoc {
  committed: Any;
  committedSeq: number;
  /** Roots of changes applied but not yet committed, oldest first. */
  private pending: { seq: number; root: Any }[] = [];
  private readonly viewers = new Map<number, ResidentViewer>();
  /** Viewers whose view must be computed at the next publish (joined, updated, or reset). */
  private readonly dirty = new Set<number>();
  private lastPublishedRoot: Any = undefined;
  private nextGroup = 1;
  /** The publish in progress: viewers left to compute and the groups so far (see publish). */
  private run: PublishRun | null = null;
  /** The last publish's answer, for a re-run of the call that produced it (see publish). */
  private answered: ViewGroup[] | null = null;
  /**
   * The seq of the change whose views `speculate` served before it was durable, until it commits:
   * a rollback then owes every viewer a full view (they moved on to views it never delivered).
   */
  private speculatedSeq: number | null = null;

  constructor(private readonly store: Store, state: Any, seq: number) {
    this.committed = store.adopt(state);
    this.committedSeq = seq;
  }

  get working(): Any { return this.pending.length > 0 ? this.pending[this.pending.length - 1]!.root : this.committed; }

  /** Runs `fn` on a draft of the working state; records the new root under `seq` when `record`. */
  step(seq: number, maxBytes: number, record: boolean, fn: (draft: Any) => Any): Step & { result?: Any } {
    // A step for a seq already pending is the re-run of one stopped after it recorded its root
    // (see isolated-sandbox.ts): forget that root, or the handler would apply twice.
    while (this.pending.length > 0 && this.pending[this.pending.length - 1]!.seq >= seq) this.pending.pop();
    const before = this.working;
    const session = new Session(this.store, true);
    let next: Any;
    let result: Any;
    try {
      const draft = session.draft(before);
      result = fn(draft);
      next = session.resolve(result.state === undefined ? draft : result.state);
    } finally {
      session.revokeAll();
    }
    if (next === undefined) throw new CoreFailure('invalid', 'handler left the state undefined');
    const encBefore = this.store.encode(before);
    let encAfter: Json;
    try {
      encAfter = this.store.encode(next);
    } catch (e) {
      throw new CoreFailure('invalid', (e as Error).message);
    }
    const bytes = this.store.size(encAfter);
    if (bytes > maxBytes) throw new CoreFailure('toolarge', `state would be about ${bytes} bytes (limit ${maxBytes})`);
    const redo = next === before ? undefined : this.store.diff(encBefore, encAfter);
    if (redo !== undefined || record) this.pending.push({ seq, root: redo === undefined ? before : next });
    return { redo: redo ?? null, undo: redo === undefined ? null : (this.store.diff(encAfter, encBefore) ?? null), bytes, result: result.extra };
  }

  /** A question about the committed state (canDelete): it runs on a draft whose edits are thrown away. */
  ask(fn: (draft: Any) => unknown): unknown {
    const session = new Session(this.store, false);
    try {
      return session.resolve(fn(session.draft(this.committed)));
    } finally {
      session.revokeAll();
    }
  }

  /** The changes up to `seq` are durable. */
  commit(seq: number): void {
    while (this.pending.length > 0 && this.pending[0]!.seq <= seq) {
      this.committed = this.pending.shift()!.root;
    }
    if (seq > this.committedSeq) this.committedSeq = seq;
    if (this.speculatedSeq !== null && this.speculatedSeq <= seq) this.speculatedSeq = null;
  }

  /**
   * The uncommitted changes were refused: forget them. Viewers already moved on to speculated
   * views of them (see speculate) get full views at the next publish instead.
   */
  rollback(): void {
    this.pending = [];
    if (this.speculatedSeq !== null) { this.speculatedSeq = null; this.resetAll(); }
  }

  /** Replays redo patches of changes the host holds but this isolate never ran (rebuild). */
  replay(seq: number, redo: Json): void {
    // A replay stopped part way (and run again) must not apply a change twice.
    const last = this.pending.length > 0 ? this.pending[this.pending.length - 1]!.seq : this.committedSeq;
    if (seq <= last) return;
    const next = decode(apply(this.store.encode(this.working), redo));
    this.pending.push({ seq, root: this.store.adopt(next) });
  }

  join(spec: ViewerSpec, sinceState?: Json): void {
    this.viewers.set(spec.id, { spec, last: undefined, group: 0, base: sinceState });
    this.dirty.add(spec.id);
  }

  update(id: number, viewerState: Json): void {
    const v = this.viewers.get(id);
    if (v) { v.spec = { ...v.spec, viewerState }; this.dirty.add(id); }
  }

  leave(id: number): void { this.viewers.delete(id); this.dirty.delete(id); }

  /** Every viewer gets a full view at the next publish (the host lost track, e.g. after a rebuild). */
  resetAll(): void { for (const [id, v] of this.viewers) { v.last = undefined; v.group = 0; this.dirty.add(id); } }

  /**
   * Computes the views of the committed state for every viewer that needs one and groups viewers
   * that see the same thing: one encode, one diff and one delta text per (previous view, new
   * view). Returns null when `budgetMs` ran out first: the host calls again to continue, so one
   * call never runs long enough to trip the isolate's timeout unless a single view does. A call
   * that starts while `current` is set means the previous call was stopped inside that viewer's
   * view: that viewer alone fails, unless `retry` says the stop was the host's (the synchronous
   * slice ran out, see isolated-sandbox.ts) and the view deserves its full time limit.
   */
  publish(fns: SpaceFns, seq: number, maxViewBytes: number, budgetMs: number, now: () => number, retry = false): ViewGroup[] | null {
    if (this.run === null) {
      // A re-run of a call that was stopped after it finished (while its answer was being
      // written) must get that answer again: the viewers already moved on to it.
      if (retry && this.answered !== null) return this.answered;
      const all = this.committed !== this.lastPublishedRoot;
      this.lastPublishedRoot = this.committed;
      const queue = all ? [...this.viewers.keys()] : [...this.dirty].filter((id) => this.viewers.has(id));
      this.dirty.clear();
      this.run = { queue, current: null, byKey: new Map(), fails: [], seq, keys: null, byView: new Map(), out: [], updates: [] };
    }
    this.answered = null;
    const run = this.run;
    if (run.current !== null && retry) {
      run.queue.unshift(run.current);
      run.current = null;
    } else if (run.current !== null) {
      run.fails.push({ ids: [run.current], fail: { kind: 'timeout', message: 'view ran past the call limit' } });
      run.current = null;
    }
    const started = now();
    const viewOf = this.viewsOf(fns, this.committed);
    while (run.queue.length > 0) {
      if (now() - started > budgetMs) return null;
      const id = run.queue.shift()!;
      const v = this.viewers.get(id);
      if (v === undefined) continue;
      run.current = id;
      let seen: { view: Json; fp: string };
      try {
        seen = viewOf(v.spec);
      } catch (e) {
        run.current = null;
        run.fails.push({ ids: [id], fail: failOf(e) });
        continue;
      }
      run.current = null;
      addToGroup(run.byKey, v, id, seen);
    }
    // Second phase, one group at a time, resumable like the first: a call stopped here (budget or
    // slice) continues with the groups left; nothing of a viewer changes until the very end.
    if (run.keys === null) {
      for (const id of run.fails.flatMap((f) => f.ids)) this.viewers.delete(id);
      run.out.push(...run.fails);
      run.keys = [...run.byKey.keys()];
    }
    while (run.keys.length > 0) {
      if (now() - started > budgetMs) return null;
      this.publishGroup(fns, run, run.keys[0]!, maxViewBytes);
      run.keys.shift();
    }
    this.adoptViews(run.updates);
    this.run = null;
    this.answered = run.out;
    return run.out;
  }

  /** A new publish request begins: an answer kept for a re-run belongs to the one before. */
  forgetAnswer(): void { this.answered = null; }

  /**
   * The views of the working state right after the step at `seq`, computed before that change is
   * durable, so the host can deliver them when its append commits without calling the isolate
   * again (one isolate call per message instead of two). Viewers move on to these views at once;
   * if the change is refused instead, rollback() owes them full views. The host asks only when
   * no other batch of the document is uncommitted; here it must also be that no viewer waits for
   * a view of its own (joins, updates, resets go through publish). Null, with nothing changed,
   * when that does not hold or the budget runs out first: the host then publishes after the
   * commit as before.
   */
  speculate(fns: SpaceFns, seq: number, maxViewBytes: number, budgetMs: number, now: () => number): ViewGroup[] | null {
    if (this.run !== null || this.dirty.size > 0) return null;
    const root = this.working;
    // Nothing changed: no viewer moves on, so a refusal of this change owes nobody a full view.
    if (root === this.lastPublishedRoot) return [];
    const started = now();
    const byKey = new Map<string, { view: Json; ids: number[]; prev: ResidentViewer }>();
    const out: ViewGroup[] = [];
    const dropped: number[] = [];
    const viewOf = this.viewsOf(fns, root);
    for (const [id, v] of this.viewers) {
      if (now() - started > budgetMs) return null;
      try {
        addToGroup(byKey, v, id, viewOf(v.spec));
      } catch (e) {
        out.push({ ids: [id], fail: failOf(e) });
        dropped.push(id);
      }
    }
    const byView = new Map<string, { encoded: Json; group: number }>();
    const updates: { ids: number[]; encoded: Json; group: number }[] = [];
    for (const [key, g] of byKey) {
      if (now() - started > budgetMs) return null;
      const r = this.groupDelta(fns, key, g, byView, maxViewBytes);
      out.push(r.group);
      if (r.update) updates.push(r.update);
      else dropped.push(...g.ids);
    }
    for (const id of dropped) this.viewers.delete(id);
    this.adoptViews(updates);
    this.lastPublishedRoot = root;
    this.speculatedSeq = seq;
    return out;
  }

  /** Encodes, checks and diffs one group of the current publish into run.out (a re-run of it redoes the same). */
  private publishGroup(fns: SpaceFns, run: PublishRun, key: string, maxViewBytes: number): void {
    const g = run.byKey.get(key)!;
    const r = this.groupDelta(fns, key, g, run.byView, maxViewBytes);
    run.out.push(r.group);
    if (r.update) run.updates.push(r.update);
    else for (const id of g.ids) this.viewers.delete(id);
  }

  /**
   * One group's delta: its view encoded once (shared with every group of the same fingerprint in
   * `byView`), checked against the limit and diffed from what the group holds. Without `update`
   * the group failed (its viewers are no longer served); changes no viewer.
   */
  private groupDelta(fns: SpaceFns, key: string, g: { view: Json; ids: number[]; prev: ResidentViewer }, byView: Map<string, { encoded: Json; group: number }>, maxViewBytes: number): { group: ViewGroup; update?: { ids: number[]; encoded: Json; group: number } } {
    const fp = key.slice(key.indexOf('|') + 1);
    let encoded: Json;
    try {
      const known = byView.get(fp);
      encoded = known?.encoded ?? this.store.encode(g.view);
      if (!known) byView.set(fp, { encoded, group: this.nextGroup++ });
    } catch (e) {
      return { group: { ids: g.ids, fail: { kind: 'invalid', message: `view: ${(e as Error).message}` } } };
    }
    const bytes = this.store.size(encoded);
    if (bytes > maxViewBytes) {
      return { group: { ids: g.ids, fail: { kind: 'viewtoolarge', message: `view is about ${bytes} bytes (limit ${maxViewBytes})`, bytes } } };
    }
    const group = byView.get(fp)!.group;
    const prev = g.prev;
    let data: string | undefined;
    let reset = false;
    if (prev.last !== undefined) {
      const patch = this.store.diff(prev.last, encoded);
      data = patch === undefined ? undefined : JSON.stringify(patch);
    } else if (prev.base !== undefined) {
      const before = this.store.encode(this.viewOf(fns, this.store.adopt(decode(prev.base)), prev.spec));
      data = JSON.stringify(this.store.diff(before, encoded) ?? {});
    } else {
      data = JSON.stringify(encoded);
      reset = true;
    }
    const update = { ids: g.ids, encoded, group };
    return { group: reset ? { ids: g.ids, data, reset } : data === undefined ? { ids: g.ids } : { ids: g.ids, data }, update };
  }

  /** Viewers with equal new views share one encoded view and one group id from now on. */
  private adoptViews(updates: readonly { ids: number[]; encoded: Json; group: number }[]): void {
    for (const u of updates) {
      for (const id of u.ids) {
        const v = this.viewers.get(id);
        if (v) { v.last = u.encoded; v.group = u.group; v.base = undefined; }
      }
    }
  }

  /** Each viewer's view of `root` with its fingerprint; a view the space declared shared is computed once. */
  private viewsOf(fns: SpaceFns, root: Any): (spec: ViewerSpec) => { view: Json; fp: string } {
    let shared: { view: Json; fp: string } | null = null;
    return (spec) => {
      if (shared !== null) return shared;
      const view = this.viewOf(fns, root, spec);
      const seen = { view, fp: this.fingerprint(view) };
      if (fns.shared === true) shared = seen;
      return seen;
    };
  }

  private viewOf(fns: SpaceFns, root: Any, spec: ViewerSpec): Json {
    const session = new Session(this.store, false);
    try {
      const v = session.resolve(fns.view(session.draft(root), spec.who, spec.viewerState));
      return v === undefined ? null : v;
    } finally {
      session.revokeAll();
    }
  }

  /** Equal fingerprints mean equal views: committed nodes by identity, fresh parts by content. */
  private fingerprint(v: Json): string {
    if (!isObj(v)) return JSON.stringify(v) ?? 'null';
    if (this.store.committed.has(v)) return `#${this.store.idOf(v)}`;
    if (Array.isArray(v)) return `[${v.map((e) => this.fingerprint(e)).join(',')}]`;
    let s = '{';
    for (const k of Object.keys(v)) s += `${JSON.stringify(k)}:${this.fingerprint((v as Any)[k])},`;
    return `${s}}`;
  }
}

/**
 * Puts viewer `id` into the group of viewers that get one delta: the same view (fingerprint) from
 * the same previous view (group); a new viewer resuming from its own base is a group of its own.
 */
function addToGroup(byKey: Map<string, { view: Json; ids: number[]; prev: ResidentViewer }>, v: ResidentViewer, id: number, seen: { view: Json; fp: string }): void {
  const key = v.last === undefined ? `new:${v.base === undefined ? '' : id}|${seen.fp}` : `${v.group}|${seen.fp}`;
  const g = byKey.get(key);
  if (g) g.ids.push(id);
  else byKey.set(key, { view: seen.view, ids: [id], prev: v });
}

function failOf(e: unknown): { kind: string; message: string } {
  if (e instanceof CoreFailure) return { kind: e.kind, message: e.message };
  const err = e as { constructor?: { name?: string }; message?: unknown };
  if (err !== null && typeof err === 'object' && typeof err.message === 'string') {
    const name = err.constructor?.name ?? 'Error';
    return { kind: name === 'Error' ? 'rejected' : 'error', message: name === 'Error' ? err.message : `${name}: ${err.message}` };
  }
  return { kind: 'error', message: `view threw a non-Error value (${typeof e})` };
}
