/**
 * @module prober
 * One probe worker per container and probe kind, with the kubelet's rules: the first attempt after
 * `initialDelaySeconds`, then one every `periodSeconds` (default 10); the result flips only after
 * `successThreshold` consecutive successes (default 1) or `failureThreshold` consecutive failures
 * (default 3). Readiness starts as failure (not ready until a probe succeeds); liveness starts as
 * success; a startup probe stops probing once it succeeded, and its failure, like liveness's,
 * asks for the container to be restarted.
 */
import type { ProbeSpec } from './pod-spec';
import type { ProbeResult } from './probe';

export type ProbeKind = 'startup' | 'readiness' | 'liveness';

export class ProbeWorker {
  private ok: boolean;
  private successes = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  lastDetail = '';

  constructor(
    private readonly kind: ProbeKind,
    private readonly spec: ProbeSpec,
    private readonly attempt: () => Promise<ProbeResult>,
    /** Called when the result flips (readiness), or when the container must be restarted (liveness/startup failure) or has started (startup success). */
    private readonly onResult: (ok: boolean, detail: string) => void,
  ) {
    this.ok = kind === 'liveness';
  }

  get result(): boolean { return this.ok; }

  start(): void { this.schedule((this.spec.initialDelaySeconds ?? 0) * 1000); }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const began = Date.now();
    const r = await this.attempt();
    if (this.stopped) return;
    this.lastDetail = r.detail;
    if (r.ok) { this.successes++; this.failures = 0; } else { this.failures++; this.successes = 0; }
    const successThreshold = this.kind === 'readiness' ? this.spec.successThreshold ?? 1 : 1;
    const failureThreshold = this.spec.failureThreshold ?? 3;
    if (!this.ok && this.successes >= successThreshold) {
      this.ok = true;
      this.onResult(true, r.detail);
      if (this.kind === 'startup') { this.stop(); return; }
    } else if (this.failures >= failureThreshold && (this.ok || this.kind === 'startup')) {
      this.ok = false;
      this.failures = 0;
      this.onResult(false, r.detail);
      // A failed liveness or startup probe ends this container; the next one gets a new worker.
      if (this.kind !== 'readiness') { this.stop(); return; }
    }
    const periodMs = (this.spec.periodSeconds ?? 10) * 1000;
    this.schedule(Math.max(0, periodMs - (Date.now() - began)));
  }
}
