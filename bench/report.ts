/**
 * @module report
 * The human-readable lines of a benchmark run; each function prints one scenario's figures.
 * The JSON summary is assembled by run.ts from the same result objects.
 */
import type { BenchConfig } from './config';
import type { DurableResult } from './durable-appends';
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

export function printFailure(tag: string, scenario: string, err: string): void {
  say(tag, `${scenario} FAILED: ${err}`);
}

function printErrors(tag: string, r: LoadResult): void {
  for (const [message, count] of Object.entries(r.errorSamples)) say(tag, `  error x${count}: ${message}`);
}
