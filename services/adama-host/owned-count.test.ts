/** createOwnedCounter: the Status count answers even when the database does not. */
import { silentLogger } from '../shared/log';
import { createOwnedCounter } from './owned-count';

describe('createOwnedCounter', () => {
  it('reports the database count as known', async () => {
    const read = createOwnedCounter({ count: () => Promise.resolve(7), timeoutMs: 1_000, log: silentLogger });
    expect(await read(3)).toEqual({ owned: 7, known: true });
  });

  it('after a failure reports the last count or the loaded floor, whichever is higher, as unknown', async () => {
    let next: () => Promise<number> = () => Promise.resolve(5);
    const read = createOwnedCounter({ count: () => next(), timeoutMs: 1_000, log: silentLogger });
    await read(0);
    next = () => Promise.reject(new Error('connection refused'));
    expect(await read(2)).toEqual({ owned: 5, known: false });
    expect(await read(9)).toEqual({ owned: 9, known: false });
  });

  it('without any earlier count falls back to the loaded documents', async () => {
    const read = createOwnedCounter({ count: () => Promise.reject(new Error('down')), timeoutMs: 1_000, log: silentLogger });
    expect(await read(4)).toEqual({ owned: 4, known: false });
  });

  it('gives up on a count that never answers after timeoutMs', async () => {
    const read = createOwnedCounter({ count: () => new Promise<number>(() => undefined), timeoutMs: 5, log: silentLogger });
    expect(await read(1)).toEqual({ owned: 1, known: false });
  });
});
