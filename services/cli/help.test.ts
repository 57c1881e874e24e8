/** `adama <command> --help` answers with that command's flags and exits 0, for every command (the built binary). */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { COMMANDS } from './commands/registry';
import { COMMAND_LOADERS } from './main';

const main = join(__dirname, '..', '..', 'dist', 'services', 'cli', 'main.js');
const run = promisify(execFile);

describe('--help', () => {
  it.each([...COMMANDS.map((c) => [c.name]), ['gossip', 'simulate'], ['host', 'drain']])('adama %s %s --help exits 0 with its flags', async (...args: string[]) => {
    const command = COMMANDS.find((c) => c.name === args[0])!;
    const { stdout } = await run(process.execPath, ['--no-node-snapshot', main, ...args.filter(Boolean), '--help']);
    expect(stdout).toContain(`usage: adama ${command.name}`);
    for (const flag of Object.keys(command.flags)) expect(stdout).toContain(`--${flag}`);
  }, 30_000);
});

describe('the command loaders', () => {
  it('load exactly the commands of the registry, each by its own name', async () => {
    expect(Object.keys(COMMAND_LOADERS).sort()).toEqual(COMMANDS.map((c) => c.name).sort());
    for (const c of COMMANDS) expect(await COMMAND_LOADERS[c.name]!()).toBe(c);
  });

  it('run a role without loading the modules other roles need', async () => {
    // The gossip sidecar: no sandbox, database driver, AWS SDK or Kubernetes client in its process.
    const probe = "require(process.argv[1]); const m = require(process.argv[2]); m.COMMAND_LOADERS.gossip().then(() => { " +
      "const heavy = ['isolated-vm', 'pg', '@electric-sql/pglite', '@aws-sdk', '@kubernetes/client-node'].filter((n) => Object.keys(require.cache).some((k) => k.includes(`/node_modules/${n}/`))); " +
      "process.stdout.write(JSON.stringify(heavy)); })";
    const { stdout } = await run(process.execPath, ['--no-node-snapshot', '-e', probe, join(__dirname, '..', '..', 'dist', 'services', 'shared', 'errors.js'), main]);
    expect(JSON.parse(stdout)).toEqual([]);
  }, 30_000);
});
