#!/usr/bin/env -S node --no-node-snapshot
/**
 * @module main
 * The `adama` command. Each deployable is a subcommand; configuration comes from flags, then
 * ADAMA_* environment variables, then validated defaults.
 */
import { E, renderErrorsMarkdown } from '../shared/errors';
import { createLogger } from '../shared/log';
import type { Command } from './commands/command';
import { clusterCommand } from './commands/cluster';
import { devCommand } from './commands/dev';
import { hostCommand } from './commands/host';
import { locatorCommand } from './commands/locator';
import { proxyCommand } from './commands/proxy';
import { spaceCommand } from './commands/space';
import { gossipCommand } from './commands/gossip';
import { archiverCommand } from './commands/archiver';
import { docCommand } from './commands/doc';
import { tokenCommand } from './commands/token';
import { certCommand } from './commands/cert';
import { migrateCommand } from './commands/migrate';
import { operatorCommand } from './commands/operator';
import { usageOf } from './options';
import { renderCliReference } from './cli-reference';
import { AdamaError } from '../shared/errors';

/** Every subcommand; exported so tests can check that what the operator runs parses (test/operator/specs-args.test.ts). */
export const COMMANDS: Command[] = [devCommand, clusterCommand, hostCommand, proxyCommand, locatorCommand, gossipCommand, archiverCommand, spaceCommand, docCommand, tokenCommand, certCommand, migrateCommand, operatorCommand];

function usage(): string {
  const lines = ['usage: adama <command> [options]', '', 'commands:'];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(10)} ${c.summary}`, usageOf(c.flags), '');
  lines.push('  errors-doc print docs/errors.md generated from the error registry', '  cli-doc    print docs/cli.md generated from these commands', '');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'errors-doc') { process.stdout.write(renderErrorsMarkdown()); return 0; }
  if (name === 'cli-doc') { process.stdout.write(renderCliReference(COMMANDS)); return 0; }
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') { process.stdout.write(usage()); return name ? 0 : 2; }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) { process.stderr.write(`adama: unknown command ${name}\n\n${usage()}`); return 2; }
  // `adama <role> --help` answers with the role's flags and exit 0 (an image's smoke test runs it).
  if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(`usage: adama ${command.name} [options]\n  ${command.summary}\n${usageOf(command.flags)}\n`); return 0; }
  return command.run(rest);
}

/**
 * Last line of defence for every role: a promise rejection nobody handled is a bug, logged with
 * a code, and the process keeps serving (the fence keeps documents safe whatever state one
 * request left behind). An uncaught exception leaves state unknown: logged, then exit 1, so the
 * supervisor restarts the process.
 */
function installProcessHandlers(): void {
  const log = createLogger('process');
  process.on('unhandledRejection', (reason) => {
    log.error({ code: E.INTERNAL.code, err: String(reason), stack: (reason as Error)?.stack }, 'process.unhandled_rejection');
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ code: E.INTERNAL.code, err: String(err), stack: err.stack }, 'process.uncaught_exception');
    process.exit(1);
  });
}

// Only when run as the program: importing COMMANDS must not start a command.
if (require.main === module) {
  installProcessHandlers();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // A service that closed everything exits by itself; this only catches a stray handle.
      setTimeout(() => process.exit(code), 3_000).unref();
    },
    // A registry error names its code, so a script or an operator can tell failures apart.
    (err: unknown) => { process.stderr.write(`adama: ${err instanceof AdamaError ? `${err.entry.name} ${err.entry.code}: ` : ''}${(err as Error).message}\n`); process.exitCode = 1; },
  );
}
