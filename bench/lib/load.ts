// Load generator, run as its own process by bench/rank.ts so the client's CPU is not the Worker's:
//   tsx bench/lib/load.ts <url> <method> <seconds> <concurrency> <authorization> [json-body-file]
// Keep-alive HTTP/1.1, closed loop: each of <concurrency> workers sends its next request when the
// previous answers. Prints one JSON line: requests, errors, rps, p50_ms, p99_ms.

import { readFileSync } from 'node:fs';
import http from 'node:http';

const [url, method, seconds, concurrency, authorization, bodyFile] = process.argv.slice(2);
const body = bodyFile ? readFileSync(bodyFile) : undefined;
const target = new URL(url!);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrency) });
const latencies: number[] = [];
let errors = 0;
const deadline = performance.now() + Number(seconds) * 1000;

function once(): Promise<void> {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method,
        headers: { authorization: authorization!, ...(body ? { 'content-type': 'application/json', 'content-length': body.length } : {}) },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(performance.now() - started);
          else errors++;
          resolve();
        });
      },
    );
    req.on('error', () => {
      errors++;
      resolve();
    });
    if (body) req.write(body);
    req.end();
  });
}

async function worker() {
  while (performance.now() < deadline) await once();
}

const started = performance.now();
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? null;
console.log(JSON.stringify({ requests: latencies.length, errors, rps: latencies.length / elapsed, p50_ms: q(0.5), p99_ms: q(0.99) }));
agent.destroy();
