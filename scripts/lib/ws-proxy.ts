// WebSocket → TCP proxy: how the Neon serverless driver reaches a plain Postgres.
// The driver opens ws://127.0.0.1:<port>/v1?address=<host>:<port> and speaks the Postgres wire
// protocol over it; we pipe the bytes to a TCP socket. Only loopback targets are allowed.
import net from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

const ALLOWED_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);
const TERMINATE = 0x58; // Postgres 'X' (Terminate) message type

export interface WsProxy {
  port: number;
  close(): Promise<void>;
}

export async function startWsProxy(port: number, host = '127.0.0.1'): Promise<WsProxy> {
  const wss = new WebSocketServer({ port, host });
  wss.on('connection', (ws, req) => {
    const address = new URL(req.url ?? '/', 'http://x').searchParams.get('address') ?? '';
    const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
    if (!match || !ALLOWED_HOSTS.has(match[1]!)) {
      ws.close(1008, 'address not allowed');
      return;
    }
    // No Nagle: the driver sends each protocol message (Parse, Bind, Execute, Sync…) as its own
    // frame; batching the small writes behind delayed ACKs cost ~40 ms per parameterised query.
    pipe(ws, net.connect({ port: Number(match[2]), host: match[1]!, noDelay: true }));
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const actualPort = (wss.address() as net.AddressInfo).port;
  return {
    port: actualPort,
    // Say goodbye properly first (a bare terminate shows up as an exception in workerd's log).
    close: async () => {
      for (const client of wss.clients) client.close(1001, 'proxy shutting down');
      const deadline = Date.now() + 1_000;
      while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function pipe(ws: WebSocket, tcp: net.Socket): void {
  let clientTerminated = false;
  const pending: Buffer[] = [];
  let connected = false;

  tcp.on('connect', () => {
    connected = true;
    for (const chunk of pending.splice(0)) tcp.write(chunk);
  });
  ws.on('message', (data: Buffer) => {
    if (data.length > 0 && data[0] === TERMINATE && data.length === 5) clientTerminated = true;
    if (connected) tcp.write(data);
    else pending.push(data);
  });
  tcp.on('data', (chunk) => {
    if (ws.readyState === ws.OPEN) ws.send(chunk);
  });
  // After the client's Terminate, Postgres closes TCP first; closing the WebSocket from our side
  // at once makes workerd report "Network connection lost". Let the client close it, with a short
  // fallback: the Neon driver (1.2.0) never does — Connection.end() passes its "then close"
  // callback to Socket.write() as the encoding argument — and workerd keeps a queue or cron
  // invocation open until its sockets close, so a long fallback adds that much to every batch.
  tcp.on('close', () => {
    if (ws.readyState !== ws.OPEN) return;
    if (clientTerminated) setTimeout(() => ws.readyState === ws.OPEN && ws.close(1000), 100).unref();
    else ws.close(1011, 'database connection closed');
  });
  // Close a moment later, not at once: the driver writes its startup message right after the
  // WebSocket opens, and a close racing that write surfaces in workerd as an uncaught exception.
  tcp.on('error', () => {
    setTimeout(() => ws.readyState === ws.OPEN && ws.close(1011, 'database unreachable'), 100).unref();
  });
  ws.on('close', () => tcp.destroy());
  ws.on('error', () => tcp.destroy());
}
