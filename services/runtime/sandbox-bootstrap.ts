/**
 * @module sandbox-bootstrap
 * The JavaScript that runs inside every space isolate before the space's own code. It is kept as
 * source text (not a compiled function's `toString()`) so that transpilers and coverage tools can
 * never rewrite it into something that references host helpers.
 *
 * The script defines the CommonJS-style `module`/`exports` globals the space fills in and
 * evaluates to one function, `dispatch(op, ...jsonStrings)`, which the host holds a reference to.
 * Every call exchanges strings only: arguments arrive as JSON text and parsed afresh per call (so a
 * failed handler never leaves a half-mutated state behind), and the answer is an envelope string:
 *   {"ok": <result>}                        the call succeeded
 *   {"fail": <kind>, "message": "..."}      kind: compile | rejected | error | invalid | nochannel
 *
 * Intrinsics are captured before the space's code runs, so a space that replaces `JSON.stringify`
 * or `Object.keys` only breaks itself, never the envelope the host parses. Security does not rest
 * on this: the isolate boundary is what protects the host.
 */

/** The longest message a space may attach to a rejection or error, in characters. */
export const MAX_SPACE_MESSAGE_CHARS = 200;

import { residentCoreExpression } from './isolate/isolate-source';

/** Envelope kinds the bootstrap reports; the host maps each to a registry error. */
export type FailKind = 'compile' | 'rejected' | 'error' | 'invalid' | 'nochannel' | 'toolarge' | 'nodoc';

/** What `dispatch('describe')` reports once the space's code has run. */
export interface SpaceShape { channels: string[]; hasConnect: boolean; hasDisconnect: boolean; sharedView: boolean; invent: boolean; httpChannels: string[] }
// canDelete(state, who) and canList(who) are optional; without them deletes and listings are refused.

let source: string | undefined;

/** The bootstrap's text, with resident-core (isolate/resident-core.ts) compiled into it. */
export function bootstrapSource(): string {
  source ??= BOOTSTRAP_TEMPLATE.replace('/*RESIDENT_CORE*/', () => residentCoreExpression());
  return source;
}

const BOOTSTRAP_TEMPLATE = String.raw`(function () {
  'use strict';
  const core = /*RESIDENT_CORE*/;
  const store = new core.Store();
  const docs = new Map();
  const now = Date.now;
  const parse = JSON.parse, stringify = JSON.stringify, keys = Object.keys, apply = Reflect.apply;
  const hasOwn = Object.prototype.hasOwnProperty, create = Object.create, freeze = Object.freeze;
  const MAX = ${MAX_SPACE_MESSAGE_CHARS};

  // WebAssembly.Memory is allocated outside the V8 heap, so isolated-vm's memoryLimit does not
  // see it: a 16 MiB isolate was observed growing one to 660 MB. Spaces are plain JS; remove it.
  delete globalThis.WebAssembly;

  const module = { exports: {} };
  globalThis.module = module;
  globalThis.exports = module.exports;

  // Filled by describe(); later changes to module.exports by the space are ignored.
  let space = null;

  // What a space sees as who: the host's {agent, authority} plus id = authority + ':' + agent,
  // the one field that tells principals apart (anonymous:bob is not the token user bob).
  function principal(w) {
    if (w === null || typeof w !== 'object') return w;
    return freeze({ agent: w.agent, authority: w.authority, id: w.authority + ':' + w.agent });
  }
  function fail(kind, message) { return stringify({ fail: kind, message: clip(message) }); }
  function clip(s) { s = String(s); return s.length > MAX ? s.slice(0, MAX) : s; }

  // A plain Error is the space's way to refuse a request; anything else is a bug in the space.
  // Reading properties of a thrown value can itself throw (getters, proxies), hence the guards.
  function classify(e) {
    try {
      if (e !== null && typeof e === 'object' && e.constructor && e.constructor.name === 'Error') {
        return fail('rejected', e.message);
      }
      if (e !== null && typeof e === 'object' && typeof e.message === 'string') {
        const name = e.constructor && typeof e.constructor.name === 'string' ? e.constructor.name : 'Error';
        return fail('error', name + ': ' + e.message);
      }
      const shown = e === null || (typeof e !== 'object' && typeof e !== 'function') ? ': ' + String(e) : '';
      return fail('error', 'threw a non-Error value (' + typeof e + ')' + shown);
    } catch (_) {
      return fail('error', 'threw a value that could not be inspected');
    }
  }

  // Serialises a result into the success envelope; anything that is not JSON is refused rather
  // than silently dropped at the top level (JSON.stringify returns undefined for a function).
  function ok(value) {
    let text;
    try { text = stringify(value); } catch (e) {
      return fail('invalid', 'result is not JSON: ' + (e && typeof e.message === 'string' ? e.message : 'unserialisable'));
    }
    if (typeof text !== 'string') return fail('invalid', 'result is not JSON (got ' + typeof value + ')');
    return '{"ok":' + text + '}';
  }

  function describe() {
    const ex = module.exports;
    if (ex === null || typeof ex !== 'object') return fail('compile', 'module.exports is not an object');
    const why = [];
    if (typeof ex.init !== 'function') why.push('init is not a function');
    if (typeof ex.view !== 'function') why.push('view is not a function');
    if (ex.connect !== undefined && typeof ex.connect !== 'function') why.push('connect is not a function');
    if (ex.disconnect !== undefined && typeof ex.disconnect !== 'function') why.push('disconnect is not a function');
    if (ex.invent !== undefined && typeof ex.invent !== 'boolean') why.push('invent is not true or false');
    if (ex.canDelete !== undefined && typeof ex.canDelete !== 'function') why.push('canDelete is not a function');
    if (ex.canList !== undefined && typeof ex.canList !== 'function') why.push('canList is not a function');
    const channels = create(null);
    const names = [];
    if (ex.channels === null || typeof ex.channels !== 'object') {
      why.push('channels is not an object');
    } else {
      const ks = keys(ex.channels);
      for (let i = 0; i < ks.length; i++) {
        const fn = ex.channels[ks[i]];
        if (typeof fn !== 'function') why.push('channel ' + ks[i] + ' is not a function');
        channels[ks[i]] = fn;
        names[names.length] = ks[i];
      }
    }
    const httpChannels = [];
    if (ex.httpChannels !== undefined) {
      if (!Array.isArray(ex.httpChannels)) why.push('httpChannels is not an array of channel names');
      else for (let i = 0; i < ex.httpChannels.length; i++) {
        const c = ex.httpChannels[i];
        if (typeof c !== 'string' || !hasOwn.call(channels, c)) why.push('httpChannels names ' + String(c) + ', which is not a channel');
        else httpChannels[httpChannels.length] = c;
      }
    }
    if (why.length > 0) return fail('compile', why.join('; '));
    // sharedView: the space promises view() reads neither who nor viewerState, so one view per
    // change serves every viewer. Optional; without it viewers are still grouped by what they see.
    space = { init: ex.init, connect: ex.connect, disconnect: ex.disconnect, view: ex.view, canDelete: ex.canDelete, canList: ex.canList, channels, sharedView: ex.sharedView === true };
    // invent: connecting to a missing document creates it with init({}) first (docs/spaces.md).
    return ok({ channels: names, hasConnect: typeof ex.connect === 'function', hasDisconnect: typeof ex.disconnect === 'function', sharedView: ex.sharedView === true, invent: ex.invent === true, httpChannels: httpChannels });
  }

  // Handlers may mutate state in place or return a replacement; undefined means "kept in place".
  function next(state, returned) { return returned === undefined ? state : returned; }

  function call(op, a, b, c, d, e) {
    switch (op) {
      case 'init': {
        const state = apply(space.init, undefined, [parse(a), parse(b)]);
        return state === undefined ? fail('invalid', 'init returned undefined') : ok(state);
      }
      case 'connect': {
        const state = parse(a);
        const allow = apply(space.connect, undefined, [state, principal(parse(b)), parse(c)]);
        return ok({ allow: !!allow, state });
      }
      case 'disconnect': {
        const state = parse(a);
        return ok(next(state, apply(space.disconnect, undefined, [state, principal(parse(b)), parse(c)])));
      }
      case 'send': {
        if (!hasOwn.call(space.channels, b)) return fail('nochannel', 'no channel ' + b);
        const state = parse(a);
        return ok(next(state, apply(space.channels[b], undefined, [state, parse(c), principal(parse(d)), parse(e)])));
      }
      case 'canList': // a: who
        return ok(typeof space.canList === 'function' && apply(space.canList, undefined, [principal(parse(a))]) === true);
      case 'views': {
        // Each viewer gets its own copy of the state: a view that edits the state it was given
        // (e.g. deleting other players' hands) must not leak into, or starve, the next viewer.
        const viewers = parse(b);
        const out = [];
        for (let i = 0; i < viewers.length; i++) {
          const v = apply(space.view, undefined, [parse(a), principal(viewers[i].who), viewers[i].viewerState]);
          out[i] = v === undefined ? null : v;
        }
        return ok(out);
      }
      default:
        return resident(op, a, b, c, d, e);
    }
  }

  // ---- resident documents (services/runtime/isolate/resident-core.ts) ----
  const DENIED = {};
  // The answer of each document's last speculating step, for a re-run of the call (see 'step').
  const answeredSteps = new Map();
  function doc(id) {
    const found = docs.get(id);
    if (found === undefined) throw new core.CoreFailure('nodoc', 'document ' + id + ' is not open in this isolate');
    return found;
  }
  function stepOut(s) { return ok({ redo: s.redo, undo: s.undo, bytes: s.bytes }); }
  function fns() {
    return { view: function (state, who, vs) { return apply(space.view, undefined, [state, who, vs]); }, shared: space.sharedView };
  }

  function resident(op, a, b, c, d, e) {
    switch (op) {
      case 'open': { // a: doc id, b: encoded state text, c: seq
        answeredSteps.delete(a);
        docs.set(a, new core.ResidentDoc(store, core.decodeState(parse(b)), +c));
        return ok(true);
      }
      case 'close': docs.delete(a); answeredSteps.delete(a); return ok(true);
      // c === 'retry': the re-run of a step that was stopped (see isolated-sandbox.ts). One that
      // had already speculated gets its answer again: its viewers moved on to those views.
      case 'step': { // a: doc id, b: {kind, channel, message, who, ctx, maxBytes, committed?, speculate?}
        const x = parse(b);
        x.who = principal(x.who);
        const target = doc(a);
        const answered = answeredSteps.get(a);
        if (c === 'retry' && answered !== undefined && answered.seq === x.ctx.seq) return answered.text;
        answeredSteps.delete(a);
        if (typeof x.committed === 'number') target.commit(x.committed);
        if (x.kind === 'send') {
          if (!hasOwn.call(space.channels, x.channel)) return fail('nochannel', 'no channel ' + x.channel);
          const s = target.step(x.ctx.seq, x.maxBytes, true, function (draft) {
            return { state: apply(space.channels[x.channel], undefined, [draft, x.message, x.who, x.ctx]) };
          });
          if (!x.speculate) return stepOut(s);
          const groups = target.speculate(fns(), x.ctx.seq, x.speculate.maxViewBytes, x.speculate.budgetMs, now);
          if (groups === null) return stepOut(s);
          const text = ok({ redo: s.redo, undo: s.undo, bytes: s.bytes, groups: groups });
          answeredSteps.set(a, { seq: x.ctx.seq, text: text });
          return text;
        }
        if (x.kind === 'connect') {
          if (typeof space.connect !== 'function') return ok({ redo: null, undo: null, bytes: 0, allow: true });
          try {
            const s = target.step(x.ctx.seq, x.maxBytes, false, function (draft) {
              if (!apply(space.connect, undefined, [draft, x.who, x.ctx])) throw DENIED;
              return { state: undefined };
            });
            return ok({ redo: s.redo, undo: s.undo, bytes: s.bytes, allow: true });
          } catch (err) {
            if (err === DENIED) return ok({ redo: null, undo: null, bytes: 0, allow: false });
            throw err;
          }
        }
        if (typeof space.disconnect !== 'function') return ok({ redo: null, undo: null, bytes: 0 });
        return stepOut(target.step(x.ctx.seq, x.maxBytes, false, function (draft) {
          return { state: apply(space.disconnect, undefined, [draft, x.who, x.ctx]) };
        }));
      }
      case 'rollback': answeredSteps.delete(a); doc(a).rollback(); return ok(true);
      case 'replay': { // a: doc id, b: [[seq, redo], ...]
        const target = doc(a);
        const list = parse(b);
        for (let i = 0; i < list.length; i++) target.replay(list[i][0], list[i][1]);
        return ok(true);
      }
      // c === 'retry': this call re-runs one that was stopped at the synchronous slice (see
      // isolated-sandbox.ts); the view it was stopped in runs again instead of failing.
      case 'publish': { // a: doc id, b: {seq, join, update, leave, reset, maxViewBytes, budgetMs}
        const x = parse(b);
        const target = doc(a);
        if (c !== 'retry') target.forgetAnswer();
        target.commit(x.seq);
        if (x.reset) target.resetAll();
        for (let i = 0; i < x.leave.length; i++) target.leave(x.leave[i]);
        for (let i = 0; i < x.join.length; i++) {
          const spec = x.join[i].spec;
          target.join({ id: spec.id, who: principal(spec.who), viewerState: spec.viewerState }, x.join[i].since);
        }
        for (let i = 0; i < x.update.length; i++) target.update(x.update[i][0], x.update[i][1]);
        const groups = target.publish(fns(), x.seq, x.maxViewBytes, x.budgetMs, now, c === 'retry');
        return ok(groups === null ? { more: true } : { groups: groups });
      }
      case 'continue': { // a: doc id, b: {maxViewBytes, budgetMs}: the rest of a publish cut short
        const x = parse(b);
        const groups = doc(a).publish(fns(), -1, x.maxViewBytes, x.budgetMs, now, c === 'retry');
        return ok(groups === null ? { more: true } : { groups: groups });
      }
      case 'canDelete': { // a: doc id, b: {who, committed}: asked of the committed state; edits are thrown away
        const x = parse(b);
        const target = doc(a);
        target.commit(x.committed);
        if (typeof space.canDelete !== 'function') return ok(false);
        return ok(target.ask(function (draft) { return apply(space.canDelete, undefined, [draft, principal(x.who)]); }) === true);
      }
      case 'state': { // a: doc id, b: the host's committed seq, if given
        const target = doc(a);
        if (b !== undefined) target.commit(+b);
        return ok(store.encode(target.committed));
      }
      default:
        return fail('error', 'unknown sandbox operation ' + op);
    }
  }

  return function dispatch(op, a, b, c, d, e) {
    if (op === 'describe') {
      try { return describe(); } catch (err) { return fail('compile', 'reading module.exports threw'); }
    }
    if (space === null) return fail('error', 'space was not described');
    try { return call(op, a, b, c, d, e); } catch (err) {
      if (err instanceof core.CoreFailure) return fail(err.kind, err.message);
      return classify(err);
    }
  };
})()`;
