// The HTTP endpoint Prometheus scrapes: GET /metrics, nothing else. It runs
// inside the controller, and closes with it: Prometheus keeps its scrape
// connections open, so closing also ends those, or they would keep the
// process alive after SIGTERM.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { InputError } from '../errors.js';
import { parseInetAddress, parsePort, type Parsed } from '../manifest/address.js';
import { CONTENT_TYPE } from './exposition.js';

export interface MetricsAddress {
  /** undefined: every address (`:9105`). */
  readonly host: string | undefined;
  readonly port: number;
}

/** `127.0.0.1:9105`, `[::1]:9105`, or `:9105` for every address; IP literals only, as for manifests. */
export function parseMetricsAddress(text: string): Parsed<MetricsAddress> {
  if (text.startsWith(':')) {
    const port = parsePort(text.slice(1));
    return port.ok ? { ok: true, value: { host: undefined, port: port.value } } : port;
  }
  const inet = parseInetAddress(text);
  return inet.ok ? { ok: true, value: { host: inet.value.host, port: inet.value.port } } : { ok: false, reason: `${inet.reason}; or :PORT for every address` };
}

export function formatMetricsAddress(address: MetricsAddress): string {
  return `${address.host === undefined ? '' : address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}

/** The metrics address cannot be listened on (in use, not an address of this host, a port below 1024 without the right). */
export class MetricsListenError extends InputError {
  override name = 'MetricsListenError';
}

export interface MetricsServer {
  /** Where it listens (the port the kernel chose, for port 0). */
  readonly address: MetricsAddress;
  /** Stops listening and ends every open connection, a scrape in flight included. */
  close(): Promise<void>;
}

export async function serveMetrics(address: MetricsAddress, scrape: () => Promise<string>): Promise<MetricsServer> {
  const server = createServer((req, res) => void answer(req, res, scrape));
  // A client that sends nothing does not hold a connection for long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'the address is in use' : error.code === 'EADDRNOTAVAIL' ? 'not an address of this host' : error.code === 'EACCES' ? 'permission denied' : error.message;
      reject(new MetricsListenError(`--metrics ${formatMetricsAddress(address)}: cannot listen: ${why}`));
    });
    server.listen({ port: address.port, ...(address.host !== undefined && { host: address.host }) }, () => resolve());
  });
  // After listening, an error on the server (not a connection) is logged by nobody: keep it from crashing the controller.
  server.on('error', () => {});
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : address.port;
  return {
    address: { host: address.host, port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(req: IncomingMessage, res: ServerResponse, scrape: () => Promise<string>): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics' && path !== '/') return reply(res, 404, 'not found: appsd serves /metrics\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return reply(res, 405, 'method not allowed\n');
  }
  if (path === '/') return reply(res, 200, 'appsd: metrics at /metrics\n');
  let body: string;
  try {
    body = await scrape();
  } catch (error) {
    // The scrape answers what it can without throwing; this is a bug, but not one that should end the controller.
    return reply(res, 500, `scrape failed: ${(error as Error).message}\n`);
  }
  reply(res, 200, body, CONTENT_TYPE);
}

function reply(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
