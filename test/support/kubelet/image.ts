/**
 * @module image
 * The one image every container runs (deploy/Dockerfile), as this machine runs it: ENTRYPOINT
 * `node --no-node-snapshot /app/dist/services/cli/main.js`, CMD `help`, WORKDIR /app (the
 * repository root, which has the same dist/ and proto/), ENV NODE_ENV=production. A container's
 * `command` replaces the ENTRYPOINT and `args` the CMD, as in Kubernetes; exec hooks and exec
 * probes run their command in the same container. Only `node <flags> /app/dist/services/cli/main.js`
 * commands are modelled (the image has no shell): anything else fails the container.
 */
import { join } from 'node:path';
import { CLI } from '../child';
import { CLI_PATH } from '../../../operator/specs/common';

export const IMAGE_ENTRYPOINT = ['node', '--no-node-snapshot', CLI_PATH];
const IMAGE_CMD = ['help'];
export const IMAGE_ENV: Readonly<Record<string, string>> = { NODE_ENV: 'production' };
/** The image's WORKDIR, here: the repository root. */
export const WORKDIR = join(__dirname, '..', '..', '..');

export interface ProcessLine { file: string; argv: string[] }

/** A command line as the image's filesystem has it, mapped onto this machine's node and dist/. */
export function mapCommand(argv: readonly string[]): ProcessLine {
  const [exe, ...rest] = argv;
  if (exe !== 'node' && exe !== '/usr/local/bin/node') throw new Error(`image: only node runs in this image, not ${JSON.stringify(exe)}`);
  const at = rest.indexOf(CLI_PATH);
  if (at < 0) throw new Error(`image: only ${CLI_PATH} is modelled, got ${JSON.stringify(argv)}`);
  return { file: process.execPath, argv: [...rest.slice(0, at), CLI, ...rest.slice(at + 1)] };
}

/** The process a container runs: command (or ENTRYPOINT) + args (or CMD, only when command is unset too). */
export function containerCommand(command: readonly string[] | undefined, args: readonly string[] | undefined): ProcessLine {
  const entry = command ?? IMAGE_ENTRYPOINT;
  const rest = args ?? (command ? [] : IMAGE_CMD);
  return mapCommand([...entry, ...rest]);
}
