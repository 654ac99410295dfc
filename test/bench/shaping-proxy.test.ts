import { createServer, get, type Agent, type Server } from 'node:http';
import { Agent as HttpAgent } from 'node:http';
import { latencySampler, ShapingProxy } from '../../bench/shaping-proxy';

/** An HTTP server that answers every GET with `size` bytes (and `?size=` overrides it). */
async function bytesServer(size: number): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size') ?? size);
    const close = req.url?.includes('close=1') ? { connection: 'close' } : {};
    res.writeHead(200, { 'content-length': String(n), ...close });
    res.end(Buffer.alloc(n, 0x61));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${address.port}` };
}

/** One GET: ms to the first body byte and to the last, and the byte count. */
function timedGet(url: string, agent?: Agent): Promise<{ firstMs: number; totalMs: number; bytes: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      let firstMs = -1;
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        if (firstMs < 0) firstMs = performance.now() - started;
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ firstMs, totalMs: performance.now() - started, bytes }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('bench/shaping-proxy', () => {
  let origin: { server: Server; url: string };
  const proxies: ShapingProxy[] = [];
  const agents: HttpAgent[] = [];

  beforeAll(async () => {
    origin = await bytesServer(200_000);
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) a.destroy();
    await Promise.all(proxies.splice(0).map((p) => p.stop()));
  });
  afterAll(async () => {
    await new Promise((resolve) => origin.server.close(resolve));
  });

  const start = async (options: Omit<Parameters<typeof ShapingProxy.start>[0], 'target'>) => {
    const proxy = await ShapingProxy.start({ target: origin.url, ...options });
    proxies.push(proxy);
    return proxy;
  };

  it('holds a single GET of N bytes to at least N / the per-connection cap', async () => {
    const proxy = await start({ perConnectionBytesPerSecond: 500_000 });
    const direct = await timedGet(`${origin.url}/`);
    const shaped = await timedGet(`${proxy.endpoint}/`);
    expect(shaped.bytes).toBe(200_000);
    // 200,000 bytes at 500,000 B/s: 400 ms at least (the headers add to it).
    expect(shaped.totalMs).toBeGreaterThanOrEqual(400);
    expect(direct.totalMs).toBeLessThan(shaped.totalMs);
    expect(proxy.stats.bytesDown).toBeGreaterThan(200_000);
  });

  it('delays the first byte of every response on a kept-alive connection', async () => {
    const proxy = await start({ latency: { medianMs: 150, sigma: 0 } });
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    const first = await timedGet(`${proxy.endpoint}/?size=10`, agent);
    const second = await timedGet(`${proxy.endpoint}/?size=10`, agent);
    expect(first.firstMs).toBeGreaterThanOrEqual(150);
    expect(second.firstMs).toBeGreaterThanOrEqual(150);
    expect(proxy.stats).toMatchObject({ connections: 1, requests: 2, latencyMs: 300 });
  });

  it('delivers a held response whose server closed the connection behind it', async () => {
    const proxy = await start({ latency: { medianMs: 100, sigma: 0 } });
    const got = await timedGet(`${proxy.endpoint}/?size=1000&close=1`);
    expect(got.bytes).toBe(1000);
    expect(got.firstMs).toBeGreaterThanOrEqual(100);
  });

  it('shares the total cap among connections', async () => {
    const proxy = await start({ totalBytesPerSecond: 1_000_000, perConnectionBytesPerSecond: 10_000_000 });
    const started = performance.now();
    const [a, b] = await Promise.all([timedGet(`${proxy.endpoint}/`), timedGet(`${proxy.endpoint}/`)]);
    // 2 x 200,000 bytes through 1,000,000 B/s: 400 ms at least, though each connection alone could take 20 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(400);
    expect(a.bytes + b.bytes).toBe(400_000);
  });

  it('draws log-normal latencies around the median, within the cap', () => {
    let x = 0;
    const random = (): number => ((x = (x * 16807 + 1) % 2147483647) + 0.5) / 2147483647;
    const draw = latencySampler({ medianMs: 30, sigma: 0.6, maxMs: 200 }, random);
    const draws = Array.from({ length: 2001 }, draw).sort((p, q) => p - q);
    expect(draws[1000]).toBeGreaterThan(25);
    expect(draws[1000]).toBeLessThan(36);
    expect(draws[2000]).toBeLessThanOrEqual(200);
    expect(draws[1980]).toBeGreaterThan(60);
  });
});
