import { E } from '../shared/errors';
import { decodeClientFrame } from './codec';

const MAX = 1024;
const code = (text: string) => {
  const d = decodeClientFrame(text, MAX);
  return d.kind === 'error' ? d.error.code : d.kind;
};

describe('decodeClientFrame', () => {
  it('accepts a well-formed connection/create', () => {
    const d = decodeClientFrame(JSON.stringify({ id: 1, method: 'connection/create', space: 'chat', key: 'k', since: 3 }), MAX);
    expect(d).toEqual({ kind: 'request', request: { id: 1, method: 'connection/create', space: 'chat', key: 'k', since: 3 } });
  });

  it('reads a pong', () => {
    expect(decodeClientFrame('{"pong": 12}', MAX)).toEqual({ kind: 'pong', pongMs: 12 });
  });

  it('refuses text that is not JSON', () => expect(code('{nope')).toBe(E.FRAME_NOT_JSON.code));
  it('refuses JSON that is not an object', () => expect(code('[1,2]')).toBe(E.FRAME_NOT_JSON.code));
  it('refuses an oversized frame before parsing it', () => expect(code(`{"id":1,"method":"auth","identity":"${'x'.repeat(MAX)}"}`)).toBe(E.FRAME_TOO_LARGE.code));
  it('refuses a request without an integer id', () => expect(code('{"method":"auth","identity":"anonymous:a"}')).toBe(E.INVALID_REQUEST.code));
  it('refuses an unknown method and keeps the id', () => {
    const d = decodeClientFrame('{"id":7,"method":"document/explode"}', MAX);
    expect(d.kind === 'error' && d.id === 7 && d.error.code === E.UNKNOWN_METHOD.code).toBe(true);
  });
  it('refuses a missing field, naming it', () => {
    const d = decodeClientFrame('{"id":2,"method":"connection/send","channel":"say","message":{}}', MAX);
    expect(d.kind === 'error' && d.error.code === E.INVALID_REQUEST.code && /connection/.test(d.error.message)).toBe(true);
  });
  it('refuses unexpected fields', () => expect(code('{"id":2,"method":"connection/end","connection":1,"extra":true}')).toBe(E.INVALID_REQUEST.code));
  it('does not treat __proto__ keys specially', () => expect(code('{"id":3,"method":"__proto__"}')).toBe(E.UNKNOWN_METHOD.code));
  it('refuses a deeply nested message without throwing (1000 levels in 2 KB)', () => {
    const deep = '['.repeat(1000) + ']'.repeat(1000);
    const d = decodeClientFrame(`{"id":5,"method":"connection/send","connection":1,"channel":"c","message":${deep}}`, MAX * 4);
    expect(d.kind === 'error' && d.id === 5 && d.error.code === E.INVALID_REQUEST.code && /deeper/.test(d.error.message)).toBe(true);
  });
  it('accepts nesting up to the limit', () => {
    const ok = '['.repeat(63) + ']'.repeat(63);
    expect(code(`{"id":6,"method":"connection/send","connection":1,"channel":"c","message":${ok}}`)).toBe('request');
  });
});

describe('decodeClientFrame: strings the log cannot store', () => {
  const failure = (text: string) => { const d = decodeClientFrame(text, MAX); return d.kind === 'error' ? { id: d.id, code: d.error.code, retry: d.error.retry, message: d.error.message } : d.kind; };
  it('refuses a lone surrogate in a message, naming the request and the field, as permanent', () => {
    expect(failure('{"id":4,"method":"connection/send","connection":3,"channel":"say","message":{"text":"hi","x":"\\ud800"}}'))
      .toEqual({ id: 4, code: E.STRING_NOT_WELL_FORMED.code, retry: false, message: expect.stringContaining('message.x') });
  });
  it('refuses U+0000 and a lone low surrogate, in create arguments, viewer state and keys too', () => {
    expect(failure('{"id":5,"method":"document/create","space":"chat","key":"k","arg":{"t":"a\\u0000b"}}')).toMatchObject({ code: E.STRING_NOT_WELL_FORMED.code });
    expect(failure('{"id":6,"method":"connection/update","connection":3,"viewerState":{"\\udc00":1}}')).toMatchObject({ code: E.STRING_NOT_WELL_FORMED.code });
    expect(failure('{"id":9,"method":"document/create","space":"chat","key":"k","arg":{"a\\u0000":1}}')).toMatchObject({ code: E.STRING_NOT_WELL_FORMED.code });
  });
  it('accepts a well-formed surrogate pair (an emoji) and an escaped backslash before "u0000"', () => {
    expect(failure('{"id":7,"method":"connection/send","connection":3,"channel":"say","message":{"text":"\\ud83d\\ude00"}}')).toBe('request');
    expect(failure('{"id":8,"method":"connection/send","connection":3,"channel":"say","message":{"text":"\\\\u0000"}}')).toBe('request');
  });
});
