/**
 * The containers the operator builds must run with our CLI as it is: every args list names an
 * `adama` command and parses with that command's flags (the registry in services/cli/main.ts),
 * every `$(VAR)` is defined for Kubernetes to expand, every ADAMA_* setting a container gets is
 * read by its command, and the sidecar and its main container agree on addresses and ids.
 */
import { buildArchiverDeployment, buildConfigMap, buildHostStatefulSet, buildLocatorDeployment, buildProxyDeployment } from '../../operator/specs';
import { CLI_PATH } from '../../operator/specs/common';
import type { Container, PodTemplate } from '../../operator/specs/k8s';
import type { AdamaCluster } from '../../operator/api/v1alpha1/types';
import { COMMANDS } from '../../services/cli/commands/registry';
import type { Command } from '../../services/cli/commands/command';
import { parseFlags, type ParsedFlags } from '../../services/cli/options';
import { hostDefaults, proxyDefaults } from '../../services/shared/config';
import { cluster } from './crd-schema';

const secrets = { redis: { secretRef: { name: 'adama-redis' } }, objectStore: { secretRef: { name: 'adama-s3', key: 'uri' } } };
const SPECS: [string, AdamaCluster][] = [
  ['minimal', cluster()],
  ['gossip off, metrics off', cluster({ gossip: { enabled: false }, metrics: { enabled: false } })],
  ['redis, object store and archiver on', cluster({ ...secrets, archiver: { enabled: true } })],
  ['everything on, custom ports and tier env', cluster({
    ...secrets, archiver: { enabled: true }, metrics: { enabled: true, port: 9100 }, gossip: { enabled: true, port: 7400 },
    hosts: { port: 7200, env: [{ name: 'ADAMA_DOC_QUEUE_DEPTH', value: '512' }] }, proxies: { port: 8443, env: [{ name: 'ADAMA_MAX_FRAME_BYTES', value: '32768' }] },
  })],
  ['mTLS from cert-manager, archiver on', cluster({ ...secrets, archiver: { enabled: true }, internalTls: { mode: 'certManager', issuerRef: { name: 'adama-ca' } } })],
];

/** ADAMA_<FLAG>, as services/cli/options.ts reads a flag from the environment. */
const flagEnv = (flag: string): string => 'ADAMA_' + flag.toUpperCase().replace(/-/g, '_');
/** ADAMA_<UPPER_SNAKE> of a config field, as services/shared/config.ts reads it. */
const configEnv = (field: string): string => 'ADAMA_' + field.replace(/[A-Z]/g, (ch) => '_' + ch).toUpperCase();

/**
 * Settings read outside the flags, by command: every logger reads ADAMA_LOG_LEVEL
 * (services/shared/log.ts); host-process.ts and proxy-process.ts resolveConfig their defaults.
 */
const CONFIG_ENV: Record<string, string[]> = {
  host: Object.keys(hostDefaults).map(configEnv),
  proxy: Object.keys(proxyDefaults).map(configEnv),
};
const readOutsideFlags = (command: string): Set<string> => new Set(['ADAMA_LOG_LEVEL', ...(CONFIG_ENV[command] ?? [])]);

/** Flags a command's run() insists on (gossip.ts: --id and --member-address; archiver.ts: --object-store). */
const REQUIRED: Record<string, string[]> = { gossip: ['id', 'member-address'], archiver: ['object-store'] };

const commandNamed = (name: string | undefined): Command => {
  const found = COMMANDS.find((x) => x.name === name);
  if (!found) throw new Error(`no adama command ${String(name)}`);
  return found;
};

/** What the fieldRefs resolve to in this test. */
const POD = { name: 'pod-0', ip: '10.0.0.7' };

/** What a container's process sees in its environment: its env, then the ConfigMap keys from envFrom (env wins). */
function containerEnv(c: AdamaCluster, ct: Container): Map<string, string> {
  const env = new Map<string, string>();
  for (const from of ct.envFrom ?? []) {
    const cm = buildConfigMap(c);
    expect(from.configMapRef.name).toBe(cm.metadata.name);
    for (const [k, v] of Object.entries(cm.data)) env.set(k, v);
  }
  for (const e of ct.env) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    const secret = e.valueFrom?.secretKeyRef;
    if (e.value !== undefined) env.set(e.name, e.value);
    else if (field === 'metadata.name') env.set(e.name, POD.name);
    else if (field === 'status.podIP') env.set(e.name, POD.ip);
    else if (secret) env.set(e.name, `secret:${secret.name}/${secret.key}`);
    else throw new Error(`env ${e.name} of ${ct.name} has a source this test does not know`);
  }
  return env;
}

/** Kubernetes' $(VAR) expansion of args; an undefined variable fails the test (Kubernetes would leave it verbatim). */
function expand(args: string[], env: Map<string, string>, where: string): string[] {
  return args.map((a) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, name: string) => {
    const v = env.get(name);
    if (v === undefined) throw new Error(`${where}: $(${name}) is not defined by the container's env or envFrom`);
    return v;
  }));
}

interface Built { spec: string; c: AdamaCluster; pod: string; template: PodTemplate }

function pods(): Built[] {
  return SPECS.flatMap(([spec, c]) => {
    const templates: [string, PodTemplate][] = [
      ['host StatefulSet', buildHostStatefulSet(c, 3).spec.template],
      ['proxy Deployment', buildProxyDeployment(c).spec.template],
      ['locator Deployment', buildLocatorDeployment(c).spec.template],
    ];
    const archiver = buildArchiverDeployment(c);
    if (archiver) templates.push(['archiver Deployment', archiver.spec.template]);
    return templates.map(([pod, template]) => ({ spec, c, pod, template }));
  });
}

const containers = pods().flatMap((p) => p.template.spec.containers.map((ct) => ({ ...p, ct, label: `${p.spec}: ${p.pod} / ${ct.name}` })));

describe.each(containers)('$label', ({ c, ct, label }) => {
  const command = commandNamed(ct.args[0]);
  const env = containerEnv(c, ct);

  it('runs an adama command whose flags parse, with no stray positionals', () => {
    const parsed = parseFlags(ct.args.slice(1), command.flags, {});
    expect(parsed.positionals).toEqual([]);
  });

  it('defines every $(VAR) in its args', () => {
    expect(() => expand(ct.args, env, label)).not.toThrow();
  });

  it('gets the flags its command requires, from args or env', () => {
    const parsed: ParsedFlags = parseFlags(expand(ct.args.slice(1), env, label), command.flags, Object.fromEntries(env));
    for (const flag of REQUIRED[command.name] ?? []) expect({ flag, value: parsed.get(flag) }).toEqual({ flag, value: expect.any(String) });
  });

  it('gets no ADAMA_* setting its command does not read', () => {
    const known = new Set([...Object.keys(command.flags).map(flagEnv), ...readOutsideFlags(command.name)]);
    const dead = [...env.keys()].filter((k) => k.startsWith('ADAMA_') && !known.has(k));
    expect(dead).toEqual([]);
  });

  it('gets no setting both as a flag and from the environment (the flag would silently win)', () => {
    const fromArgs = Object.keys(command.flags).filter((f) => ct.args.includes(`--${f}`));
    expect(fromArgs.filter((f) => env.has(flagEnv(f)))).toEqual([]);
  });
});

/** The args after `node --no-node-snapshot <CLI_PATH>` of an exec hook. */
function hookCliArgs(command: string[]): string[] {
  const i = command.indexOf(CLI_PATH);
  expect(command.slice(0, i)).toEqual(['node', '--no-node-snapshot']);
  return command.slice(i + 1);
}

/** A host pod's containers and the flags its host container runs with. */
function hostPod(c: AdamaCluster): { host: Container; sidecar: Container | undefined; hostFlags: ParsedFlags } {
  const containers = buildHostStatefulSet(c, 3).spec.template.spec.containers;
  const host = containers.find((x) => x.name === 'host')!;
  const env = containerEnv(c, host);
  const hostFlags = parseFlags(expand(host.args.slice(1), env, 'host'), commandNamed('host').flags, Object.fromEntries(env));
  return { host, sidecar: containers.find((x) => x.name === 'gossip'), hostFlags };
}

describe.each(SPECS)('%s: the host pod', (_, c) => {
  it('runs `adama host drain-self` in preStop, parsed as the host command parses it, against its own port', () => {
    const cmd = hostPod(c).host.lifecycle!.preStop.exec.command;
    // Exec hooks get no $(VAR) expansion.
    expect(cmd.join(' ')).not.toContain('$(');
    const args = hookCliArgs(cmd);
    expect(args[0]).toBe('host');
    const parsed = parseFlags(args.slice(1), commandNamed('host').flags, {});
    expect(parsed.positionals).toEqual(['drain-self']);
    expect(parsed.int('port', 1, 65535)).toBe(c.spec.hosts.port);
    expect(parsed.int('timeout-ms', 1)).toBe(c.spec.hosts.drain.timeoutSeconds * 1000);
    expect(parsed.get('target')).toBeUndefined();
  });
});

describe.each(SPECS.filter(([, c]) => c.spec.gossip.enabled))('%s: the host pod\'s gossip sidecar', (_, c) => {
  it('announces the host with the id and address the host announces, probes its health, and is what --gossip names', () => {
    const { sidecar, hostFlags } = hostPod(c);
    const env = containerEnv(c, sidecar!);
    const gossip = parseFlags(expand(sidecar!.args.slice(1), env, 'gossip'), commandNamed('gossip').flags, Object.fromEntries(env));
    expect(gossip.get('role')).toBe('host');
    expect(gossip.get('id')).toBe(hostFlags.get('host-id'));
    expect(gossip.get('member-address')).toBe(hostFlags.get('advertise'));
    expect(gossip.get('member-address')).toBe(`${POD.name}.${c.metadata.name}-host.${c.metadata.namespace}.svc:${c.spec.hosts.port}`);
    expect(gossip.get('health')).toBe(`127.0.0.1:${hostFlags.int('port')}`);
    expect(gossip.get('advertise')).toBe(`${POD.ip}:${c.spec.gossip.port}`);
    expect(gossip.get('seeds')).toBe(`${c.metadata.name}-gossip.${c.metadata.namespace}.svc:${c.spec.gossip.port}`);
    expect(hostFlags.get('gossip')).toBe(`127.0.0.1:${gossip.int('port')}`);
  });
});

it('a host pod without gossip has no sidecar and no --gossip', () => {
  const { sidecar, hostFlags } = hostPod(cluster({ gossip: { enabled: false } }));
  expect(sidecar).toBeUndefined();
  expect(hostFlags.get('gossip')).toBeUndefined();
});

/** A proxy pod's flags, and its sidecar's (parsed inside tests, so a bad builder fails a test, not the suite). */
function proxyPod(c: AdamaCluster): { proxyFlags: ParsedFlags; gossip: ParsedFlags | undefined } {
  const [proxy, sidecar] = buildProxyDeployment(c).spec.template.spec.containers;
  const parse = (ct: Container): ParsedFlags => {
    const env = containerEnv(c, ct);
    return parseFlags(expand(ct.args.slice(1), env, ct.name), commandNamed(ct.args[0]).flags, Object.fromEntries(env));
  };
  return { proxyFlags: parse(proxy!), gossip: sidecar ? parse(sidecar) : undefined };
}

describe.each(SPECS.filter(([, c]) => c.spec.gossip.enabled))('%s: the proxy pod\'s gossip sidecar', (_, c) => {
  it('announces the proxy by its pod name and URL, and is what --gossip names', () => {
    const { proxyFlags, gossip } = proxyPod(c);
    expect(gossip?.get('role')).toBe('proxy');
    expect(gossip?.get('id')).toBe(proxyFlags.get('proxy-id'));
    expect(gossip?.get('member-address')).toBe(`http://${POD.ip}:${proxyFlags.int('port')}/`);
    expect(gossip?.get('health')).toBeUndefined();
    expect(proxyFlags.get('gossip')).toBe(`127.0.0.1:${gossip?.int('port')}`);
  });
});

describe.each(SPECS)('%s: the proxy pod', (_, c) => {
  it('passes Redis to the proxy only when the spec has one', () => {
    const { proxyFlags } = proxyPod(c);
    expect(proxyFlags.get('redis-url')).toBe(c.spec.redis ? `secret:${c.spec.redis.secretRef.name}/${c.spec.redis.secretRef.key}` : undefined);
  });
});
