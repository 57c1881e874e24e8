/**
 * @module report
 * The human-readable lines of a benchmark run; each function prints one scenario's figures.
 * The JSON summary is assembled by run.ts from the same result objects.
 */
import type { BenchConfig } from './config';
import { formatCpu } from './cpu';
import type { DurableResult } from './durable-appends';
import type { FailoverResult } from './failover-time';
import type { GroupCommitResult } from './group-commit';
import type { FanoutResult } from './split-fanout';
import type { ChildLogCounts } from './split-stack';
import type { LoadResult } from './load-loop';
import type { SendToDeltaResult } from './send-to-delta';
import { formatLatency, formatRate, ratio } from './stats';
import type { StorageResult } from './storage-appends';
import type { RelayResult } from './ws-relay-baseline';

const say = (tag: string, text: string): void => { process.stdout.write(`[${tag}] ${text}\n`); };

export function printHeader(config: Readonly<BenchConfig>, cpus: number, loadAverage: number[]): void {
  const knobs = Object.entries(config).map(([k, v]) => `${k}=${v}`).join(' ');
  const load = loadAverage.map((l) => l.toFixed(2)).join(' ');
  process.stdout.write(`Adama benchmark ${new Date().toISOString()}  node ${process.version}  ${cpus} CPUs  load ${load}  ${knobs}\n`);
}

export function printRelay(r: RelayResult): void {
  say('baseline', `raw ws relay A→B, one at a time       ${formatLatency(r.latency)}  ${formatRate(r.msgsPerSec, 'msgs')}`);
}

export function printSendToDelta(tag: string, r: SendToDeltaResult, relay: RelayResult): void {
  say(tag, `send→delta (A send → B onView)        ${formatLatency(r.delta)}  ${formatRate(r.msgsPerSec, 'msgs')}`);
  say(tag, `  = ${ratio(r.delta.p50Ms, relay.latency.p50Ms)}x the raw relay at p50, ${ratio(r.delta.p99Ms, relay.latency.p99Ms)}x at p99`);
  say(tag, `  first ${r.deltaFirstTenth.count} msgs p50 ${r.deltaFirstTenth.p50Ms} ms, last ${r.deltaLastTenth.count} p50 ${r.deltaLastTenth.p50Ms} ms (the view holds all ${r.documentMessages} messages by the end)`);
  say(tag, `send→ack (durable, same messages)     ${formatLatency(r.ack)}`);
}

export function printDurable(tag: string, what: string, r: DurableResult): void {
  say(tag, `${what.padEnd(38)}${formatRate(r.okPerSec, 'acked sends')}  (${r.ok} in ${(r.elapsedMs / 1000).toFixed(1)} s, errors ${r.errors})`);
  say(tag, `  ack latency ${formatLatency(r.latency)}`);
  say(tag, `  log: ${r.appends.records} records in ${r.appends.documentAppends} document appends (${r.recordsPerAppend} records each) in ${r.appends.statements} statements (${r.documentsPerStatement} documents each)`);
  printErrors(tag, r);
}

export function printStorage(tag: string, r: StorageResult): void {
  say(tag, `storage append, 1 record/call         ${formatRate(r.single.okPerSec, 'appends')}  call ${formatLatency(r.single.latency)}`);
  say(tag, `storage append, ${r.batched.batch} records/call        ${formatRate(r.batched.okPerSec, 'calls')} = ${formatRate(r.batched.unitsPerSec, 'records')}  call ${formatLatency(r.batched.latency)}`);
  say(tag, `storage appendMany, ${r.many.documents} docs x 1 record   ${formatRate(r.many.okPerSec, 'calls')} = ${formatRate(r.many.unitsPerSec, 'records')}  call ${formatLatency(r.many.latency)}`);
  for (const phase of [r.single, r.batched, r.many]) printErrors(tag, phase);
}

export function printFanout(tag: string, r: FanoutResult, relay: RelayResult, single?: FanoutResult): void {
  say(tag, `fan-out ${r.documents} docs x ${r.clientsPerDocument} clients (${r.sockets} sockets), ${r.messagesPerDocument} msgs/doc one at a time`);
  say(tag, `  send→delta at each receiver         ${formatLatency(r.delta)}  ${formatRate(r.deliveriesPerSec, 'deliveries')}  ${formatRate(r.msgsPerSec, 'msgs')}`);
  say(tag, `  send→ack at the sender              ${formatLatency(r.ack)}`);
  say(tag, `  = ${ratio(r.delta.p50Ms, relay.latency.p50Ms)}x the raw relay at p50, ${ratio(r.delta.p99Ms, relay.latency.p99Ms)}x at p99; setup ${(r.setupMs / 1000).toFixed(1)} s; missed ${r.missedDeliveries}/${r.expectedDeliveries} deliveries; errors ${r.errors}`);
  say(tag, `  CPU while measured: ${formatCpu(r.cpu)}`);
  if (single) {
    say(tag, `  vs single-process: p50 ${ratio(r.delta.p50Ms, single.delta.p50Ms)}x, p99 ${ratio(r.delta.p99Ms, single.delta.p99Ms)}x, deliveries/s ${ratio(r.deliveriesPerSec, single.deliveriesPerSec)}x`);
  }
  for (const [message, count] of Object.entries(r.errorSamples)) say(tag, `  error x${count}: ${message}`);
}

export function printGroupCommit(tag: string, r: GroupCommitResult): void {
  say(tag, `${r.documents} docs x 1 append in flight, append per doc    ${formatRate(r.perAppend.okPerSec, 'appends')}  call ${formatLatency(r.perAppend.latency)}`);
  say(tag, `${r.documents} docs x 1 append in flight, GroupCommitter   ${formatRate(r.grouped.okPerSec, 'appends')}  call ${formatLatency(r.grouped.latency)}`);
  say(tag, `  = ${r.speedup}x; ${r.grouped.flushes} appendMany statements, ${r.grouped.documentsPerFlush} documents each (maxBatchItems ${r.grouped.maxBatchItems}, maxInFlight ${r.grouped.maxInFlight})`);
  for (const phase of [r.perAppend, r.grouped]) printErrors(tag, phase);
}

export function printFailover(tag: string, r: FailoverResult): void {
  say(tag, `${r.documents} docs, ${r.roundsRun} rounds of SIGKILL of the busiest host: ${r.affectedStreams} affected streams, ${r.failedStreams} did not recover`);
  say(tag, `  kill → ack of a send issued at the kill   ${formatLatency(r.recoveryAck)}`);
  say(tag, `  kill → that message in the stream         ${formatLatency(r.recoveryDelta)}`);
  say(tag, `  same send, unaffected documents           ${formatLatency(r.unaffectedAck)}`);
  say(tag, `  kill → proxy logs host.connection_lost    ${formatLatency(r.proxyNoticed)}`);
  say(tag, `  kill → document.loaded on the new owner   ${formatLatency(r.documentLoaded)}`);
  say(tag, `  restart of the killed id (spawn → ready)  ${formatLatency(r.restart)}`);
  for (const round of r.rounds) {
    const owners = Object.entries(round.owners).map(([id, n]) => `${id} ${n}`).join(', ');
    const acks = [...round.recoveredAckMs].sort((a, b) => a - b);
    const loaded = [...round.documentLoadedMs].sort((a, b) => a - b);
    say(tag, `  round ${round.round}: killed ${round.victim} (owned: ${owners}); ${round.affected} affected, ack min ${acks[0] ?? '-'} / max ${acks[acks.length - 1] ?? '-'} ms, `
      + `loaded ${loaded[0] ?? '-'}–${loaded[loaded.length - 1] ?? '-'} ms, ${round.reattaches} re-attaches (max attempt ${round.maxReattachAttempt}; causes ${Object.entries(round.reattachCauses).map(([c, n]) => `${c} x${n}`).join(', ') || '-'}), failed ${round.failed}, restart ${round.restartMs} ms`);
  }
  for (const [message, count] of Object.entries(r.errorSamples)) say(tag, `  error x${count}: ${message}`);
}

export function printChildLogs(tag: string, logs: ChildLogCounts): void {
  const fmt = (m: Record<string, number>): string => Object.entries(m).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} x${v}`).join(', ') || 'none';
  say(tag, `child logs, warn or worse: ${fmt(logs.warnOrWorse)}`);
  say(tag, `child logs, info: ${fmt(logs.info)}`);
  if (logs.unexpectedExits.length > 0) say(tag, `children that exited on their own: ${logs.unexpectedExits.join(', ')}`);
  if (logs.killedOnClose.length > 0) say(tag, `children SIGKILLed after SIGTERM timed out: ${logs.killedOnClose.join(', ')}`);
}

export function printSplitStart(tag: string, kind: string, hosts: number, proxies: number, startMs: number): void {
  say(tag, `split stack on ${kind}: ${hosts} adama host + ${proxies} adama proxy child processes, up in ${(startMs / 1000).toFixed(1)} s`);
}

export function printFailure(tag: string, scenario: string, err: string): void {
  say(tag, `${scenario} FAILED: ${err}`);
}

function printErrors(tag: string, r: LoadResult): void {
  for (const [message, count] of Object.entries(r.errorSamples)) say(tag, `  error x${count}: ${message}`);
}
