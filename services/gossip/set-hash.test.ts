import { assertMemberId, setHash, sortIds } from './set-hash';

describe('setHash', () => {
  // Golden vectors: first 16 hex digits of SHA-256 over "id\n" per sorted id. Never change these;
  // a sidecar that hashes differently would never share the 3-message path with the others.
  it.each([
    [[], 'e3b0c44298fc1c14'],
    [['a'], '87428fc522803d31'],
    [['a', 'b'], '911169ddaaf146af'],
    [['host-1', 'host-2', 'host-3', 'proxy-1', 'proxy-2'], 'ac2cbdf2faae2732'],
    [['é', 'z'], 'e3c6d7d564cbe509'],
  ])('hashes %j to %s', (ids, hash) => {
    expect(setHash(ids)).toBe(hash);
  });

  it('depends on order, so callers sort first', () => {
    expect(setHash(sortIds(['b', 'a']))).toBe(setHash(['a', 'b']));
    expect(setHash(['b', 'a'])).not.toBe(setHash(['a', 'b']));
  });

  it('cannot confuse ["ab"] with ["a","b"]', () => {
    expect(setHash(['ab'])).not.toBe(setHash(['a', 'b']));
  });

  it('refuses ids with a newline, which would break the framing', () => {
    expect(() => assertMemberId('a\nb')).toThrow(RangeError);
    expect(() => assertMemberId('')).toThrow(RangeError);
  });
});
