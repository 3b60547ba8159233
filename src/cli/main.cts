#!/usr/bin/env node
// What Node runs for `appsd` (the build copies it to dist/cli/main.js; see
// scripts/build.ts). It runs the bundled command line (src/cli/appsd.ts and
// everything it imports), dist/cli/bundle.js,
// compiled from a V8 code cache the build wrote beside it: bytecode for what
// a sample run of a command compiled, so that Node parses and compiles almost
// none of appsd at start-up. CommonJS rather than an ES module, because Node
// 20 takes a code cache only for scripts (vm.Script), and starting from a
// CommonJS file skips setting up the ES module loader.
//
// A cache holds what its command ran, and loading it costs in proportion:
// `appsd validate` takes bundle.js.validate.cache when there is one (the
// command is the first argument that is not a flag; a wrong guess costs
// time, never correctness), any other command bundle.js.cache, made from all
// the sample runs. A cache is used only with the bundle it was made from: it
// starts with the bundle's first line, which names the bundle's hash; V8
// itself refuses a cache from another Node or other V8 flags, and the bundle
// is then compiled as usual. With source maps on (node --enable-source-maps),
// Node's own loader loads the bundle and reads bundle.js.map, so that stack
// traces point into src/.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

const bundle = join(__dirname, 'bundle.js');
const command = process.argv.slice(2).find((arg) => !arg.startsWith('-')) ?? 'help';
const commandCache = /^[a-z]{1,20}$/.test(command) ? `${bundle}.${command}.cache` : undefined;
// Set by the build only, for its sample runs: "command" writes this
// command's cache, "all" adds to bundle.js.cache what this run compiled.
const writeCache = process.env['APPSD_WRITE_CODE_CACHE'];
const cacheFiles = writeCache === 'all' ? [`${bundle}.cache`] : writeCache === 'command' ? [commandCache ?? `${bundle}.cache`] : [...(commandCache ? [commandCache] : []), `${bundle}.cache`];

if (process.sourceMapsEnabled && writeCache === undefined) {
  require(bundle);
} else {
  // The bundle is ASCII (the build checks): read as one byte per character,
  // without decoding UTF-8.
  const source = readFileSync(bundle, 'latin1');
  const header = `${source.slice(0, source.indexOf('\n'))}\n`;
  let cachedData: Buffer | undefined;
  for (const file of cacheFiles) {
    try {
      const cache = readFileSync(file);
      if (cache.subarray(0, header.length).toString('latin1') === header) cachedData = cache.subarray(header.length);
      break;
    } catch {
      // No such cache: the next one, or none (compiled as usual).
    }
  }
  // Node's own CommonJS wrapper, on the same line as the bundle's first (so
  // that line numbers in stack traces are the bundle's).
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    ...(cachedData && { cachedData }),
  });
  const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
  const bundleModule = { exports: {} };
  run.call(bundleModule.exports, bundleModule.exports, createRequire(bundle), bundleModule, bundle, __dirname);
  if (writeCache) {
    // At exit: the cache then holds what this run compiled, and what the cache it started from held.
    process.on('exit', () => writeFileSync(cacheFiles[0]!, Buffer.concat([Buffer.from(header, 'latin1'), script.createCachedData()])));
  }
}
