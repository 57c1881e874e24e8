/**
 * @module load-proto
 * Loads our `.proto` contracts with ONE set of loader options everywhere, so a field can never be
 * a string in one process and a number in another.
 *
 * longs: Number — stream ids and seqs are below 2^53 by construction, and numbers keep call sites
 * free of string conversions. enums: String, defaults: true (absent scalars read as 0/""/false),
 * oneofs: true (a virtual `body` field names the oneof member that is set).
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { packageRoot } from '../shared/paths';

export const PROTO_LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

const cache = new Map<string, grpc.GrpcObject>();

/** The package object of `proto/<file>`; e.g. loadProto('host.proto') → { adama: { host: { v1: ... } } }. */
export function loadProto(file: string): grpc.GrpcObject {
  let pkg = cache.get(file);
  if (!pkg) {
    const definition = protoLoader.loadSync(join(packageRoot(), 'proto', file), PROTO_LOADER_OPTIONS);
    pkg = grpc.loadPackageDefinition(definition);
    cache.set(file, pkg);
  }
  return pkg;
}

/** Resolves a dotted name such as 'adama.host.v1.Host' to its service client constructor. */
export function serviceClient(file: string, dotted: string): grpc.ServiceClientConstructor {
  let node: unknown = loadProto(file);
  for (const part of dotted.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function') throw new Error(`${dotted} is not a service in ${file}`);
  return node as grpc.ServiceClientConstructor;
}
