// Writes the CRDs of shim-operator/src/api/ to shim-operator/config/crd/bases/, one YAML per kind.
//   node --import tsx shim-operator/scripts/generate-crds.ts           write them
//   node --import tsx shim-operator/scripts/generate-crds.ts --check   exit 1 and name stale files
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRD_BASES_DIR, CRD_FILE_PREFIX, type CrdFile, renderCrdFiles } from '../src/api/crd-files.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Drift {
  stale: string[];
  missing: string[];
  /** Generated files of kinds that no longer exist. */
  orphaned: string[];
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function generatedFilesOnDisk(): string[] {
  return safeReaddir(join(repoRoot, CRD_BASES_DIR)).filter((name) => name.startsWith(CRD_FILE_PREFIX) && name.endsWith('.yaml')).map((name) => `${CRD_BASES_DIR}/${name}`);
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function findDrift(files: CrdFile[]): Drift {
  const drift: Drift = { stale: [], missing: [], orphaned: [] };
  for (const file of files) {
    const current = readIfPresent(join(repoRoot, file.path));
    if (current === undefined) drift.missing.push(file.path);
    else if (current !== file.content) drift.stale.push(file.path);
  }
  const expected = new Set(files.map((f) => f.path));
  drift.orphaned = generatedFilesOnDisk().filter((path) => !expected.has(path));
  return drift;
}

function main(args: string[]): number {
  const unknown = args.filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    console.error(`unknown argument(s): ${unknown.join(' ')}\nusage: generate-crds.ts [--check]`);
    return 2;
  }
  const files = renderCrdFiles();
  const drift = findDrift(files);
  const outOfDate = drift.stale.length + drift.missing.length + drift.orphaned.length;

  if (args.includes('--check')) {
    if (outOfDate === 0) {
      console.log(`CRDs up to date (${files.length} files in ${CRD_BASES_DIR})`);
      return 0;
    }
    for (const path of drift.stale) console.error(`stale:    ${path}`);
    for (const path of drift.missing) console.error(`missing:  ${path}`);
    for (const path of drift.orphaned) console.error(`orphaned: ${path} (no such kind any more)`);
    console.error('CRDs are out of date: run node --import tsx shim-operator/scripts/generate-crds.ts');
    return 1;
  }

  mkdirSync(join(repoRoot, CRD_BASES_DIR), { recursive: true });
  for (const path of [...drift.stale, ...drift.missing]) {
    const file = files.find((f) => f.path === path);
    if (file) writeFileSync(join(repoRoot, file.path), file.content);
    console.log(`wrote    ${path}`);
  }
  for (const path of drift.orphaned) {
    rmSync(join(repoRoot, path));
    console.log(`removed  ${path}`);
  }
  if (outOfDate === 0) console.log(`CRDs already up to date (${files.length} files in ${CRD_BASES_DIR})`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
