/**
 * @module options
 * Flag parsing shared by the subcommands: every flag also reads ADAMA_<FLAG> from the environment
 * (flags win), and integers are validated once with a message that names the flag.
 */
import { parseArgs } from 'node:util';

export type FlagSpec = Record<string, { default?: string; help: string }>;

export interface ParsedFlags { get(name: string): string | undefined; int(name: string, min?: number, max?: number): number; positionals: string[] }

export function parseFlags(args: string[], spec: FlagSpec, env: NodeJS.ProcessEnv = process.env): ParsedFlags {
  const { values, positionals } = parseArgs({
    args, strict: true, allowPositionals: true,
    options: Object.fromEntries(Object.keys(spec).map((k) => [k, { type: 'string' as const }])),
  });
  const get = (name: string): string | undefined => {
    const flag = values[name];
    if (typeof flag === 'string') return flag;
    return env['ADAMA_' + name.toUpperCase().replace(/-/g, '_')] ?? spec[name]?.default;
  };
  return {
    get,
    positionals,
    int(name, min = 0, max = Number.MAX_SAFE_INTEGER) {
      const raw = get(name);
      const n = Number(raw);
      if (raw === undefined || !Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer ${min}-${max}, got ${raw}`);
      return n;
    },
  };
}

export function usageOf(spec: FlagSpec): string {
  return Object.entries(spec).map(([k, v]) => `    --${k.padEnd(16)} ${v.help}${v.default !== undefined ? ` (default ${v.default})` : ''}  [ADAMA_${k.toUpperCase().replace(/-/g, '_')}]`).join('\n');
}
