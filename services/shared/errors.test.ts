import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdamaError, E, errorByCode, renderErrorsMarkdown, toErrorBody } from './errors';

describe('error registry', () => {
  const entries = Object.values(E);

  it('gives every error a unique code', () => {
    const codes = entries.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('keeps each code inside the range of its area', () => {
    for (const e of entries) expect(e.code >= 1000 && e.code <= 9999).toBe(true);
  });

  it('names each entry after its key', () => {
    for (const [key, e] of Object.entries(E)) expect(e.name).toBe(key);
  });

  it('finds entries by code', () => {
    expect(errorByCode(E.DOC_QUEUE_FULL.code)).toBe(E.DOC_QUEUE_FULL);
    expect(errorByCode(1)).toBeUndefined();
  });

  it('turns unknown exceptions into INTERNAL without leaking their message', () => {
    expect(toErrorBody(new Error('secret detail'))).toEqual({ code: E.INTERNAL.code, message: E.INTERNAL.description, retry: true });
    expect(toErrorBody(new AdamaError(E.FRAME_TOO_LARGE, 'too big'))).toEqual({ code: 1002, message: 'too big', retry: false });
  });

  it('matches the committed docs/errors.md (run npm run docs:errors after changing the registry)', () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'docs', 'errors.md'), 'utf8');
    expect(committed).toBe(renderErrorsMarkdown());
  });
});
