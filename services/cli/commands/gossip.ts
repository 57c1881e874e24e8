/** @module gossip — placeholder: `adama gossip` lands with its issue. */
import type { Command } from './command';

export const gossipCommand: Command = {
  name: 'gossip',
  summary: '(not available yet)',
  flags: {},
  async run() {
    throw new Error('adama gossip is not available yet');
  },
};
