/**
 * @module operator-process
 * `adama operator` as the image runs it: the compiled CLI as a child process, configured only by
 * flags and a kubeconfig file that points at the in-process fake API server over HTTP. What the
 * process does on its own (stay alive, exit, its exit code) is what these tests observe.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeKube } from './fake-kube';
import { spawnAdama, type Child } from './child';
import { OPERATOR_NS } from './operator-harness';
import { freePort } from './ports';

export interface OperatorProcess extends Child {
  identity: string;
  metricsPort: number;
  /** GET on the process's metrics endpoint. */
  http(path: string): Promise<{ status: number; body: string }>;
  /** true until the process exited. */
  readonly alive: boolean;
}

export interface OperatorProcesses {
  /** Lease timings the processes run with (`--lease-duration-ms`; renew deadline and retry follow from it). */
  readonly leaseDurationMs: number;
  readonly retryPeriodMs: number;
  start(identity: string, extraArgs?: string[]): Promise<OperatorProcess>;
  /** SIGKILLs whatever is still running; removes the kubeconfig. */
  close(): Promise<void>;
}

/** A kubeconfig file for the fake, as `kubectl config view --raw` would write it. */
function writeKubeconfig(dir: string, fake: FakeKube): string {
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'fake',
    // client-node refuses plain HTTP unless TLS verification is off (the fake speaks HTTP on loopback).
    clusters: [{ name: 'fake', cluster: { server: fake.url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'fake', user: { token: fake.token } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace: OPERATOR_NS } }],
  }));
  return path;
}

export function operatorProcesses(fake: FakeKube, leaseDurationMs = 3_000): OperatorProcesses {
  const dir = mkdtempSync(join(tmpdir(), 'adama-operator-'));
  const kubeconfig = writeKubeconfig(dir, fake);
  const started: OperatorProcess[] = [];
  return {
    leaseDurationMs,
    // The CLI's proportion (client-go's): retry every 2/15 of the lease.
    retryPeriodMs: Math.round(leaseDurationMs * 2 / 15),
    async start(identity, extraArgs = []) {
      const metricsPort = await freePort();
      const child = await spawnAdama([
        'operator', '--pod-name', identity, '--operator-namespace', OPERATOR_NS,
        '--metrics-port', String(metricsPort), '--lease-duration-ms', String(leaseDurationMs),
        '--drain-poll-ms', '200', ...extraArgs,
      ], 'operator.started', { KUBECONFIG: kubeconfig, ADAMA_LOG_LEVEL: 'info' });
      let alive = true;
      void child.exited.then(() => { alive = false; });
      const op: OperatorProcess = {
        ...child, identity, metricsPort,
        get alive() { return alive; },
        async http(path) {
          const res = await fetch(`http://127.0.0.1:${metricsPort}${path}`);
          return { status: res.status, body: await res.text() };
        },
      };
      started.push(op);
      return op;
    },
    async close() {
      await Promise.all(started.filter((p) => p.alive).map((p) => { p.proc.kill('SIGKILL'); return p.exited; }));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
