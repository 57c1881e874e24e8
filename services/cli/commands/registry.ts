/**
 * @module registry
 * Every subcommand, loaded together: for `adama help`, `adama cli-doc` and the tests that check
 * every command (help, docs, the operator's args). Running one command does not load this (main.ts
 * loads only that command's module), so a role's process holds only what it uses.
 */
import type { Command } from './command';
import { archiverCommand } from './archiver';
import { certCommand } from './cert';
import { clusterCommand } from './cluster';
import { devCommand } from './dev';
import { docCommand } from './doc';
import { gossipCommand } from './gossip';
import { hostCommand } from './host';
import { locatorCommand } from './locator';
import { migrateCommand } from './migrate';
import { operatorCommand } from './operator';
import { proxyCommand } from './proxy';
import { spaceCommand } from './space';
import { tokenCommand } from './token';

export const COMMANDS: Command[] = [devCommand, clusterCommand, hostCommand, proxyCommand, locatorCommand, gossipCommand, archiverCommand, spaceCommand, docCommand, tokenCommand, certCommand, migrateCommand, operatorCommand];
