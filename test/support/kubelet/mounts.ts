/**
 * @module mounts
 * A container process here has no filesystem of its own, so the kubelet writes each Secret volume
 * to a directory of the pod's and rewrites paths under a volume's mountPath in the container's
 * command, args and exec commands to that directory.
 */

/** [mountPath, the directory on this machine], per mounted volume. */
export type Mounts = readonly (readonly [string, string])[];

/** `path` with a mounted prefix replaced by where the volume lives on this machine. */
export function mountedPath(path: string, mounts: Mounts): string {
  for (const [mountPath, dir] of mounts) if (path === mountPath || path.startsWith(`${mountPath}/`)) return dir + path.slice(mountPath.length);
  return path;
}
