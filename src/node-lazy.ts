// Node's own modules that cost a command's start-up milliseconds each
// (node:crypto alone is a fifth of Node's own start-up; node:child_process
// brings net, dgram, cluster and dns), loaded on first use instead of with
// the module that imports them: most commands never use them (validate,
// render and diff --offline write nothing, take no lock and run no podman).
// See docs/benchmarks.md, CLI start-up.
import { createRequire } from 'node:module';

const nodeRequire = createRequire(import.meta.url);

export const crypto = (): typeof import('node:crypto') => nodeRequire('node:crypto') as typeof import('node:crypto');
export const net = (): typeof import('node:net') => nodeRequire('node:net') as typeof import('node:net');
export const childProcess = (): typeof import('node:child_process') => nodeRequire('node:child_process') as typeof import('node:child_process');
