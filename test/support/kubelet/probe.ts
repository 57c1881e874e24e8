/**
 * @module probe
 * One probe or hook action as the kubelet performs it, from the node (the test process, no pod
 * network shim) against the pod's IP: grpc (grpc.health.v1 `Check` with the probe's service,
 * SERVING is success), httpGet (status 200–399), tcpSocket (the connection opens), exec (the
 * command runs in the container, exit 0). Each attempt opens its own connection, as the kubelet's do.
 */
import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import * as net from 'node:net';
import { serviceClient } from '../../../services/grpc/load-proto';
import { resolvePort, type ContainerSpec, type HandlerSpec, type ProbeSpec } from './pod-spec';

export interface ProbeResult { ok: boolean; detail: string }

/** Runs a command in the container (exec probes and hooks); the container decides how. */
export type ExecInContainer = (command: readonly string[], timeoutMs: number) => Promise<{ code: number | null; stdout: string; stderr: string }>;

export interface ProbeTarget { podIP: string; container: ContainerSpec; exec: ExecInContainer }

type HealthClient = grpc.Client & { Check(req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void };

function grpcCheck(address: string, service: string, timeoutMs: number): Promise<ProbeResult> {
  const Health = serviceClient('health.proto', 'grpc.health.v1.Health');
  const client = new Health(address, grpc.credentials.createInsecure()) as unknown as HealthClient;
  return new Promise<ProbeResult>((resolve) => {
    client.Check({ service }, { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      if (err) resolve({ ok: false, detail: `grpc ${address}: ${err.details || err.message}` });
      else resolve({ ok: res?.status === 'SERVING', detail: `grpc ${address}: ${res?.status ?? 'no status'}` });
    });
  });
}

function httpGet(host: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, agent: false, timeout: timeoutMs, headers: { 'user-agent': 'kube-probe/1.30' } }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve({ ok: code >= 200 && code < 400, detail: `http ${host}:${port}${path}: ${code}` });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, detail: `http ${host}:${port}${path}: ${e.message}` }));
  });
}

function tcpOpen(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (r: ProbeResult): void => { s.destroy(); resolve(r); };
    s.setTimeout(timeoutMs, () => done({ ok: false, detail: `tcp ${host}:${port}: timeout` }));
    s.once('connect', () => done({ ok: true, detail: `tcp ${host}:${port}: open` }));
    s.once('error', (e) => done({ ok: false, detail: `tcp ${host}:${port}: ${e.message}` }));
  });
}

async function execOk(t: ProbeTarget, command: readonly string[], timeoutMs: number): Promise<ProbeResult> {
  const r = await t.exec(command, timeoutMs).catch((e: unknown) => ({ code: null, stdout: '', stderr: String(e) }));
  return { ok: r.code === 0, detail: `exec: exit ${r.code ?? 'none'} ${r.stderr.slice(-200)}` };
}

/** One attempt of a probe (timeoutSeconds default 1, as the API defaults it). */
export function runProbe(p: ProbeSpec, t: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = (p.timeoutSeconds ?? 1) * 1000;
  if (p.grpc) return grpcCheck(`${t.podIP}:${p.grpc.port}`, p.grpc.service ?? '', timeoutMs);
  if (p.httpGet) return httpGet(p.httpGet.host ?? t.podIP, resolvePort(p.httpGet.port, t.container), p.httpGet.path ?? '/', timeoutMs);
  if (p.tcpSocket) return tcpOpen(p.tcpSocket.host ?? t.podIP, resolvePort(p.tcpSocket.port, t.container), timeoutMs);
  if (p.exec) return execOk(t, p.exec.command, timeoutMs);
  return Promise.resolve({ ok: false, detail: 'probe has no handler' });
}

/** A lifecycle hook (preStop, postStart); `timeoutMs` is what is left of its budget. */
export async function runHook(h: HandlerSpec, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult & { stdout?: string; code?: number | null }> {
  if (h.exec) {
    const r = await t.exec(h.exec.command, timeoutMs).catch((e: unknown) => ({ code: null, stdout: '', stderr: String(e) }));
    return { ok: r.code === 0, detail: `exec: exit ${r.code ?? 'none'} ${r.stderr.slice(-500)}`, stdout: r.stdout, code: r.code };
  }
  if (h.httpGet) return httpGet(h.httpGet.host ?? t.podIP, resolvePort(h.httpGet.port, t.container), h.httpGet.path ?? '/', timeoutMs);
  if (h.sleep) {
    await new Promise((r) => setTimeout(r, Math.min(h.sleep!.seconds * 1000, timeoutMs)));
    return { ok: true, detail: `slept ${h.sleep.seconds}s` };
  }
  return { ok: false, detail: 'hook has no handler' };
}
