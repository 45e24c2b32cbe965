// `npm start`, `npm run start:api`, `npm run start:worker`, `npm run migrate`: runs a role's compiled
// entry point in this process (so signals reach the service directly). In a checkout with the build
// tools installed it builds first (`npm run build`: turbo rebuilds only what changed, in well under a
// second when nothing did), so `npm ci && npm start` works on a fresh clone and never runs stale code.
// Where the build tools are absent (the image, installed with production dependencies only) it runs
// what the image built. Node must run with `--conditions=booking-compiled`, so that the workspace
// packages resolve to their compiled output (package.json scripts pass it).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ENTRY_POINTS = {
  server: 'apps/server/dist/main.js',
  api: 'apps/api/dist/main.js',
  worker: 'apps/worker/dist/main.js',
  migrate: 'packages/db/dist/migrate.main.js',
  verify: 'packages/db/dist/verify.main.js',
};

const root = fileURLToPath(new URL('..', import.meta.url));
const role = process.argv[2];
const entry = ENTRY_POINTS[role];
if (!entry) {
  process.stderr.write(`usage: start.mjs ${Object.keys(ENTRY_POINTS).join('|')}\n`);
  process.exit(2);
}
if (!import.meta.resolve('@booking/db').endsWith('/dist/index.js')) {
  process.stderr.write('start.mjs: run node with --conditions=booking-compiled (see package.json)\n');
  process.exit(2);
}

function buildToolsInstalled() {
  try {
    // `npm run build` is turbo running tsc: both are dev dependencies.
    const require = createRequire(import.meta.url);
    require.resolve('turbo/package.json');
    require.resolve('typescript/package.json');
    return true;
  } catch {
    return false;
  }
}

if (buildToolsInstalled()) {
  // Quiet when it succeeds; its whole output on stderr when it fails.
  const build = spawnSync('npm', ['run', '--silent', 'build', '--', '--output-logs=errors-only'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) {
    process.stderr.write(`${build.stdout ?? ''}${build.stderr ?? ''}${build.error ? `${build.error.message}\n` : ''}`);
    process.stderr.write(`start.mjs: the build failed (npm run build: ${build.status ?? build.signal})\n`);
    process.exit(1);
  }
}
const path = `${root}${entry}`;
if (!existsSync(path)) {
  process.stderr.write(`start.mjs: ${entry} is missing: run npm run build first\n`);
  process.exit(1);
}
await import(path);
