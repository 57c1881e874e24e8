import { AdamaError, E, isAdamaError } from '../shared/errors';
import { isConnectionError, isUniqueViolation, toStorageError } from './pg-errors';

const withCode = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });

describe('pg-errors', () => {
  it.each([
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a server shutting down (57P01)', withCode('57P01')],
    ['a connection exception (class 08)', withCode('08006')],
    ['too many connections (53300)', withCode('53300')],
    ['a dropped connection reported without a code', new Error('Connection terminated unexpectedly')],
  ])('treats %s as the database being unavailable', (_what, err) => {
    expect(isConnectionError(err)).toBe(true);
    const mapped = toStorageError(err, 'lookup');
    expect(isAdamaError(mapped, E.STORAGE_UNAVAILABLE)).toBe(true);
    expect((mapped as Error).cause).toBe(err);
  });

  it('passes SQL errors and AdamaErrors through unchanged', () => {
    const unique = withCode('23505');
    expect(isUniqueViolation(unique)).toBe(true);
    expect(toStorageError(unique, 'append')).toBe(unique);
    const syntax = withCode('42601');
    expect(toStorageError(syntax, 'append')).toBe(syntax);
    const adama = new AdamaError(E.INTERNAL);
    expect(toStorageError(adama, 'append')).toBe(adama);
    expect(isConnectionError('not an error')).toBe(false);
  });
});
