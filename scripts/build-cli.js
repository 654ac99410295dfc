#!/usr/bin/env node
// Bundles the command line with esbuild into dist/cli/ (main.js, and one file per command that main.js
// loads on use, the definition JSON inlined), so that `s3-direct-transfer` starts without compiling
// TypeScript and `--help` parses only the small main.js. `--if-stale` builds only when a source is newer.
'use strict';
const { mkdirSync, readFileSync, statSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const ROOT = join(__dirname, '..');
const OUTDIR = join(ROOT, 'dist', 'cli');
/** The project files the bundles were built from (node_modules excluded), for the staleness check. */
const SOURCES = join(OUTDIR, 'sources.json');
const COMMANDS = ['run', 'demo', 'start', 'watch'];

// main.ts requires './run' etc.: kept as requires of the sibling bundles instead of inlined.
const commandsApart = {
  name: 'commands-apart',
  setup(build) {
    build.onResolve({ filter: new RegExp(`^\\./(${COMMANDS.join('|')})$`) }, (args) =>
      args.importer.endsWith(join('cli', 'main.ts'))
        ? { path: `${args.path}.js`, external: true }
        : undefined,
    );
  },
};

async function build() {
  const { build: esbuild } = require('esbuild');
  const result = await esbuild({
    entryPoints: ['main', ...COMMANDS].map((name) => join(ROOT, 'cli', `${name}.ts`)),
    outdir: OUTDIR,
    plugins: [commandsApart],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
  });
  const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/'));
  mkdirSync(OUTDIR, { recursive: true });
  writeFileSync(SOURCES, JSON.stringify(inputs.map((f) => relative(ROOT, join(process.cwd(), f)))));
  return result;
}

/** True when the bundles are missing, or a file they were built from changed (or vanished) since. */
function isStale() {
  let sources;
  let builtAt;
  try {
    sources = JSON.parse(readFileSync(SOURCES, 'utf8'));
    builtAt = statSync(SOURCES).mtimeMs;
  } catch {
    return true;
  }
  for (const file of sources) {
    const stat = statSync(join(ROOT, file), { throwIfNoEntry: false });
    if (!stat || stat.mtimeMs > builtAt) return true;
  }
  return false;
}

module.exports = { build, isStale, OUTDIR };

if (require.main === module) {
  if (process.argv.includes('--if-stale') && !isStale()) return;
  const started = Date.now();
  build().then(
    (result) => {
      const sizes = Object.entries(result.metafile.outputs)
        .filter(([file]) => file.endsWith('.js'))
        .map(([file, out]) => `${file.split('/').pop()} ${(out.bytes / 1024).toFixed(0)} KiB`);
      console.error(`built ${OUTDIR} (${sizes.join(', ')}) in ${Date.now() - started} ms`);
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
