// Migrations are append-only: once landed, a migration file never changes, because databases that
// applied it will never apply it again. src/migrations/SHA256SUMS lists every landed migration with
// its SHA-256 (the format of `sha256sum`, so `sha256sum -c SHA256SUMS` in that folder checks it too).
// Whoever adds a migration adds its line:  cd packages/db/src/migrations && sha256sum NEW.ts >> SHA256SUMS
// To change a SQL function, edit its file in packages/db/sql/functions instead (see sql-functions.ts).
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import { MIGRATION_NAMES } from '../src/migrator.ts';

const folder = new URL('../src/migrations/', import.meta.url);

async function manifest(): Promise<Map<string, string>> {
  const text = await readFile(new URL('SHA256SUMS', folder), 'utf8');
  const entries = new Map<string, string>();
  for (const line of text.split('\n').filter((l) => l.trim() !== '')) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!match) throw new Error(`SHA256SUMS: not a sha256sum line: ${line}`);
    entries.set(match[2]!, match[1]!);
  }
  return entries;
}

async function migrationFiles(): Promise<string[]> {
  return (await readdir(folder)).filter((f) => f.endsWith('.ts')).sort();
}

describe('landed migrations', () => {
  it('are unchanged, byte for byte', async () => {
    const landed = await manifest();
    expect(landed.size).toBeGreaterThanOrEqual(3);
    for (const [file, sum] of landed) {
      const content = await readFile(new URL(file, folder)).catch(() => {
        throw new Error(`landed migration ${file} was removed: migrations are append-only`);
      });
      const actual = createHash('sha256').update(content).digest('hex');
      expect(actual, `landed migration ${file} changed: write a new migration instead`).toBe(sum);
    }
  });

  it('are all listed in SHA256SUMS, and so is every migration the migrator applies', async () => {
    const landed = await manifest();
    const files = await migrationFiles();
    expect(
      files.filter((f) => !landed.has(f)),
      'migrations missing from SHA256SUMS (add their line)',
    ).toEqual([]);
    expect(MIGRATION_NAMES.map((name) => `${name}.ts`).filter((f) => !landed.has(f))).toEqual([]);
    // A migration may keep the texts of the functions it creates in a companion module (NAME.functions.ts):
    // frozen with it (listed above), not applied on its own.
    const migrations = files.filter((f) => !f.endsWith('.functions.ts'));
    expect([...MIGRATION_NAMES].sort(), 'every migration file is applied').toEqual(migrations.map((f) => f.replace(/\.ts$/, '')));
  });
});
