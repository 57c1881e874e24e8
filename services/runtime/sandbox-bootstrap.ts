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

/** Envelope kinds the bootstrap reports; the host maps each to a registry error. */
export type FailKind = 'compile' | 'rejected' | 'error' | 'invalid' | 'nochannel';

/** What `dispatch('describe')` reports once the space's code has run. */
export interface SpaceShape { channels: string[]; hasConnect: boolean; hasDisconnect: boolean }

export const BOOTSTRAP_SOURCE = String.raw`(function () {
  'use strict';
  const parse = JSON.parse, stringify = JSON.stringify, keys = Object.keys, apply = Reflect.apply;
  const hasOwn = Object.prototype.hasOwnProperty, create = Object.create;
  const MAX = ${MAX_SPACE_MESSAGE_CHARS};

  // WebAssembly.Memory is allocated outside the V8 heap, so isolated-vm's memoryLimit does not
  // see it: a 16 MiB isolate was observed growing one to 660 MB. Spaces are plain JS; remove it.
  delete globalThis.WebAssembly;

  const module = { exports: {} };
  globalThis.module = module;
  globalThis.exports = module.exports;

  // Filled by describe(); later changes to module.exports by the space are ignored.
  let space = null;

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
    if (why.length > 0) return fail('compile', why.join('; '));
    space = { init: ex.init, connect: ex.connect, disconnect: ex.disconnect, view: ex.view, channels };
    return ok({ channels: names, hasConnect: typeof ex.connect === 'function', hasDisconnect: typeof ex.disconnect === 'function' });
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
        const allow = apply(space.connect, undefined, [state, parse(b), parse(c)]);
        return ok({ allow: !!allow, state });
      }
      case 'disconnect': {
        const state = parse(a);
        return ok(next(state, apply(space.disconnect, undefined, [state, parse(b), parse(c)])));
      }
      case 'send': {
        if (!hasOwn.call(space.channels, b)) return fail('nochannel', 'no channel ' + b);
        const state = parse(a);
        return ok(next(state, apply(space.channels[b], undefined, [state, parse(c), parse(d), parse(e)])));
      }
      case 'views': {
        // Each viewer gets its own copy of the state: a view that edits the state it was given
        // (e.g. deleting other players' hands) must not leak into, or starve, the next viewer.
        const viewers = parse(b);
        const out = [];
        for (let i = 0; i < viewers.length; i++) {
          const v = apply(space.view, undefined, [parse(a), viewers[i].who, viewers[i].viewerState]);
          out[i] = v === undefined ? null : v;
        }
        return ok(out);
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
    try { return call(op, a, b, c, d, e); } catch (err) { return classify(err); }
  };
})()`;
