/**
 * @module exec
 * A command run inside a container (exec hooks, exec probes): the container's environment and
 * network namespace, to its exit. Never rejects on a non-zero exit; kills the command at the
 * deadline (the kubelet gives up on a hook then, too).
 */
import type { ExecInContainer } from './probe';
import { ContainerProcess } from './container-process';
import { mapCommand } from './image';
import { mountedPath, type Mounts } from './mounts';

/** `mounts`: where the container's Secret volumes are on this machine (container-runner.ts). */
export function execIn(env: () => Record<string, string>, mounts: () => Mounts = () => []): ExecInContainer {
  return async (command, timeoutMs) => {
    const p = new ContainerProcess(mapCommand(command.map((a) => mountedPath(a, mounts()))), env());
    let stdout = '';
    p.proc.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    const timer = setTimeout(() => p.signal('SIGKILL'), timeoutMs);
    const exit = await p.exited;
    clearTimeout(timer);
    return { code: exit.code, stdout, stderr: p.stderrTail };
  };
}
