/** @module token — placeholder: `adama token` lands with its issue. */
import type { Command } from './command';

export const tokenCommand: Command = {
  name: 'token',
  summary: '(not available yet)',
  flags: {},
  async run() {
    throw new Error('adama token is not available yet');
  },
};
