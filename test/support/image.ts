/**
 * @module image
 * Runs a built container image (`IMAGE_UNDER_TEST`, made by deploy/buildah/build-image.sh) the
 * only way containers run here: `buildah run --isolation chroot` on a working container made with
 * `buildah from` (podman, crun and runc are refused setrlimit when they start a container). The
 * chroot isolation keeps the machine's network, so what a role serves inside is reached from the
 * test on loopback, as a pod's container port is reached through its pod IP.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { runCommand, spawnLogged, type Child, type CliResult } from './child';

/** The image to test, or undefined when the environment names none. */
export function imageUnderTest(): string | undefined {
  const image = process.env.IMAGE_UNDER_TEST;
  return image === undefined || image === '' ? undefined : image;
}

export function buildahAvailable(): boolean {
  return spawnSync('buildah', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface ImageFacts {
  /** ENTRYPOINT of the image config, exec form. */
  entrypoint: string[];
  user: string;
  /** Uncompressed size: the sum of the layer tars in the local store (what `buildah images` shows). */
  sizeBytes: number;
  /** Size of the first layer: the base image (NODE_IMAGE) the runtime stage starts from. */
  baseLayerBytes: number;
}

async function buildah(args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await runCommand('buildah', args, { timeoutMs });
  if (r.code !== 0) throw new Error(`buildah ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-2000)}`);
  return r.stdout.trim();
}

export async function inspectImage(image: string): Promise<ImageFacts> {
  const info = JSON.parse(await buildah(['inspect', '--type', 'image', image])) as {
    OCIv1: { config: { Entrypoint?: string[]; User?: string } };
    Manifest: string;
  };
  const layers = (JSON.parse(info.Manifest) as { layers: { size: number }[] }).layers;
  return {
    entrypoint: info.OCIv1.config.Entrypoint ?? [],
    user: info.OCIv1.config.User ?? '',
    sizeBytes: layers.reduce((sum, l) => sum + l.size, 0),
    baseLayerBytes: layers[0]?.size ?? 0,
  };
}

/**
 * One working container of the image. Every process it starts runs in its own process group, so
 * that remove() ends `buildah run`, buildah's chroot helper and the role inside together; then
 * the container is unmounted and deleted.
 */
export class WorkingContainer {
  /** Every `buildah run` started by spawn(), each with the promise of its exit. */
  private readonly processes: { proc: ChildProcess; exited: Promise<void> }[] = [];

  private constructor(readonly name: string, private readonly entrypoint: string[]) {}

  /** `--pull=never`: the image must already be in the local store; nothing is fetched. */
  static async create(image: string): Promise<WorkingContainer> {
    const facts = await inspectImage(image);
    if (facts.entrypoint.length === 0) throw new Error(`${image} has no ENTRYPOINT`);
    const name = `adama-test-${randomBytes(4).toString('hex')}`;
    await buildah(['from', '--pull=never', '--name', name, image]);
    return new WorkingContainer(name, facts.entrypoint);
  }

  /** `buildah run` argv for the image's ENTRYPOINT with `args` (buildah run does not apply the entrypoint itself). */
  private runArgv(args: string[], env: Record<string, string>): string[] {
    const envFlags = Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
    return ['run', '--isolation', 'chroot', '--network', 'host', ...envFlags, this.name, '--', ...this.entrypoint, ...args];
  }

  /** Runs the entrypoint with `args` to its exit (e.g. `host --help`). */
  exec(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
    return runCommand('buildah', this.runArgv(args, env), { timeoutMs });
  }

  /** Starts a long-running role (e.g. `proxy`) and resolves on its ready log line. */
  async spawn(args: string[], readyEvent: string, env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Child> {
    const track = (proc: ChildProcess) => {
      this.processes.push({ proc, exited: new Promise((resolve) => { proc.once('exit', () => resolve()); proc.once('error', () => resolve()); }) });
    };
    return spawnLogged('buildah', this.runArgv(args, env), { label: `image: adama ${args[0]}`, readyEvent, timeoutMs, detached: true, onSpawn: track });
  }

  /** The container's root filesystem on the host (until remove()). */
  mount(): Promise<string> {
    return buildah(['mount', this.name]);
  }

  async remove(): Promise<void> {
    for (const { proc } of this.processes) {
      if (proc.pid === undefined) continue;
      // The whole group even when buildah itself has exited: its helper may not have.
      try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* the group is already gone */ }
    }
    await Promise.all(this.processes.map((p) => p.exited));
    await buildah(['umount', this.name]).catch(() => undefined);
    await buildah(['rm', this.name]);
  }
}
