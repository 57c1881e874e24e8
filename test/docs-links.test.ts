/**
 * A clone with nothing beside it: every relative link in the README and docs/ resolves inside
 * the repository, and no document sends readers to ../shared.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = join(__dirname, '..');
const documents = ['README.md', 'charts/adama/README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
  .filter((f) => existsSync(join(root, f)));

/** Markdown link targets `[text](target)` that are not URLs or in-page anchors. */
function relativeLinks(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith('#'));
}

describe('documentation links', () => {
  it.each(documents)('%s links only to files in the repository', (doc) => {
    const text = readFileSync(join(root, doc), 'utf8');
    const broken = relativeLinks(text).filter((target) => {
      const path = resolve(dirname(join(root, doc)), target.split('#')[0]!);
      return relative(root, path).startsWith('..') || !existsSync(path);
    });
    expect(broken).toEqual([]);
    expect(text).not.toMatch(/\.\.\/shared\//);
  });
  it('finds relative links and ignores URLs and anchors', () => {
    expect(relativeLinks('[a](docs/x.md) [b](https://e.org) [c](#top) [d](../y.md#z)')).toEqual(['docs/x.md', '../y.md#z']);
  });
});
