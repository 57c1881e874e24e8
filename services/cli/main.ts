#!/usr/bin/env -S node --no-node-snapshot
/**
 * @module main
 * The `adama` command. Each deployable is a subcommand; configuration comes from flags, then
 * ADAMA_* environment variables, then validated defaults.
 */
import { AdamaError, E, renderErrorsMarkdown } from '../shared/errors';
import { createLogger } from '../shared/log';
import type { Command } from './commands/command';
import { usageOf } from './options';
import { deferSignals } from './run-until-signal';
import { renderCliReference } from './cli-reference';

/**
 * One loader per subcommand, so `adama gossip` loads the sidecar and not the sandbox, the database
 * driver, the AWS SDK or the Kubernetes client (a role's memory is what it uses). The full list
 * for help and docs is commands/registry.ts; a test checks the two name the same commands.
 */
export const COMMAND_LOADERS: Readonly<Record<string, () => Promise<Command>>> = {
  dev: async () => (await import('./commands/dev')).devCommand,
  cluster: async () => (await import('./commands/cluster')).clusterCommand,
  host: async () => (await import('./commands/host')).hostCommand,
  proxy: async () => (await import('./commands/proxy')).proxyCommand,
  locator: async () => (await import('./commands/locator')).locatorCommand,
  gossip: async () => (await import('./commands/gossip')).gossipCommand,
  archiver: async () => (await import('./commands/archiver')).archiverCommand,
  space: async () => (await import('./commands/space')).spaceCommand,
  doc: async () => (await import('./commands/doc')).docCommand,
  token: async () => (await import('./commands/token')).tokenCommand,
  cert: async () => (await import('./commands/cert')).certCommand,
  migrate: async () => (await import('./commands/migrate')).migrateCommand,
  operator: async () => (await import('./commands/operator')).operatorCommand,
};

async function allCommands(): Promise<Command[]> {
  return (await import('./commands/registry')).COMMANDS;
}

function usage(commands: readonly Command[]): string {
  const lines = ['usage: adama <command> [options]', '', 'commands:'];
  for (const c of commands) lines.push(`  ${c.name.padEnd(10)} ${c.summary}`, usageOf(c.flags), '');
  lines.push('  errors-doc print docs/errors.md generated from the error registry', '  cli-doc    print docs/cli.md generated from these commands', '');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'errors-doc') { process.stdout.write(renderErrorsMarkdown()); return 0; }
  if (name === 'cli-doc') { process.stdout.write(renderCliReference(await allCommands())); return 0; }
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') { process.stdout.write(usage(await allCommands())); return name ? 0 : 2; }
  const load = Object.hasOwn(COMMAND_LOADERS, name) ? COMMAND_LOADERS[name] : undefined;
  if (!load) { process.stderr.write(`adama: unknown command ${name}\n\n${usage(await allCommands())}`); return 2; }
  const command = await load();
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
  deferSignals();
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
