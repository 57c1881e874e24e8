/**
 * @module peer/load-child
 * The load generator's process (forked by processes.ts with an IPC channel), so the clients do
 * not share an event loop with either server. Protocol: the parent sends one
 * `{ type: 'job', target, job }`; the child answers `{ type: 'mark', name }` at each phase
 * boundary and waits for `{ type: 'marked' }` (the parent samples CPU in between), then sends
 * `{ type: 'result', result }` or `{ type: 'error', message }` and exits.
 */
import { describeError } from '../timing';
import { targetOf, type ChatTarget, type TargetKind } from './chat-target';
import { runCards, runChatLoop, runPair, runViewers, type Job, type JobResult } from './workloads';

export interface JobMessage { type: 'job'; target: { kind: TargetKind; urls: string[] }; job: Job }
export type ChildMessage = { type: 'mark'; name: string } | { type: 'result'; result: JobResult } | { type: 'error'; message: string };

function send(m: ChildMessage, then?: () => void): void { process.send!(m, undefined, {}, () => then?.()); }

let marked: (() => void) | null = null;
const mark = (name: string): Promise<void> => new Promise((resolve) => { marked = resolve; send({ type: 'mark', name }); });

async function run(m: JobMessage): Promise<JobResult> {
  const target: ChatTarget = targetOf(m.target);
  switch (m.job.workload) {
    case 'chat': return runChatLoop(target, m.job.options, mark) as unknown as JobResult;
    case 'pair': return runPair(target, m.job.options, mark) as unknown as JobResult;
    case 'viewers': return runViewers(target, m.job.options, mark, m.target) as unknown as JobResult;
    case 'cards': return runCards(target, m.job.options, mark) as unknown as JobResult;
  }
}

process.on('message', (raw: unknown) => {
  const m = raw as { type?: string };
  if (m.type === 'marked') { const r = marked; marked = null; r?.(); return; }
  if (m.type !== 'job') return;
  run(raw as JobMessage).then(
    (result) => { send({ type: 'result', result }, () => process.exit(0)); },
    (err: unknown) => { send({ type: 'error', message: describeError(err) }, () => process.exit(1)); },
  );
});
