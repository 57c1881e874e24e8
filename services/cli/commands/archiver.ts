/** @module archiver — placeholder: `adama archiver` lands with its issue. */
import type { Command } from './command';

export const archiverCommand: Command = {
  name: 'archiver',
  summary: '(not available yet)',
  flags: {},
  async run() {
    throw new Error('adama archiver is not available yet');
  },
};
