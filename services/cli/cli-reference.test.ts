import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from './commands/registry';
import { renderCliReference } from './cli-reference';

const docs = (name: string): string => readFileSync(join(__dirname, '..', '..', 'docs', name), 'utf8');

describe('the command reference', () => {
  it('docs/cli.md lists every command and flag exactly as the code defines them (run npm run docs:cli)', () => {
    expect(docs('cli.md')).toBe(renderCliReference(COMMANDS));
  });
  it('renders a flag with its variable and default, and escapes table pipes', () => {
    const text = renderCliReference([{ name: 'x', summary: 'does x', flags: { 'max-a': { help: 'a | b', default: '3' } }, run: async () => 0 }]);
    expect(text).toContain('| `--max-a` | `ADAMA_MAX_A` | `3` | a \\| b |');
  });
  it('docs/operations.md has a row for every command', () => {
    const table = docs('operations.md');
    const missing = COMMANDS.map((c) => c.name).filter((name) => !new RegExp(`^\\| \`adama ${name}[\` ]`, 'm').test(table));
    expect(missing).toEqual([]);
  });
});
