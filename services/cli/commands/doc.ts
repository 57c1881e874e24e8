/** @module doc — placeholder: `adama doc` lands with its issue. */
import type { Command } from './command';

export const docCommand: Command = {
  name: 'doc',
  summary: '(not available yet)',
  flags: {},
  async run() {
    throw new Error('adama doc is not available yet');
  },
};
