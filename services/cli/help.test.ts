/** `adama <command> --help` answers with that command's flags and exits 0, for every command (the built binary). */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { COMMANDS } from './main';

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
