/**
 * @module cli-reference
 * docs/cli.md rendered from the commands themselves, so the reference cannot fall behind the
 * code: `adama cli-doc > docs/cli.md` (npm run docs:cli) writes it, and a test compares the
 * committed file with this rendering.
 */
import type { Command } from './commands/command';

const envName = (flag: string): string => `ADAMA_${flag.toUpperCase().replace(/-/g, '_')}`;
const cell = (text: string): string => text.replace(/\|/g, '\\|');

export function renderCliReference(commands: readonly Command[]): string {
  const lines = [
    '# Command reference',
    '',
    'Generated from the code by `npm run docs:cli`; a test fails when this file and the commands',
    'disagree. Every flag can also be given as the environment variable in its row; a flag on the',
    'command line wins over the variable, which wins over the default. `docs/operations.md` says',
    'how the commands fit together.',
    '',
  ];
  for (const c of commands) {
    lines.push(`## adama ${c.name}`, '', `${c.summary}.`, '');
    const flags = Object.entries(c.flags);
    if (flags.length === 0) { lines.push('No flags.', ''); continue; }
    lines.push('| flag | environment | default | meaning |', '|---|---|---|---|');
    for (const [name, spec] of flags) {
      lines.push(`| \`--${name}\` | \`${envName(name)}\` | ${spec.default === undefined ? '-' : `\`${cell(spec.default)}\``} | ${cell(spec.help)} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
