import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startCmrEmulator, type CmrEmulator } from '../../../emulators/cmr/emulator';
import { syntheticCollection } from '../../../emulators/cmr/fixtures';
import { searchCmr, type CmrOptions, type SearchRequest } from '../../../shared/cmr';
import { ONE_MACHINE_POLICY } from '../../../shared/run-policy';

const TOKEN = 'http-test-token-abcdef';
const policy = ONE_MACHINE_POLICY.endpoints;
const COLLECTIONS: SearchRequest = { resource: 'collections.umm_json', params: [['page_size', '10']] };

/** A server answering every request with `handler`; its URL ends in /search. */
async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; server: Server; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/search`, server, requests };
}

const closing: Server[] = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function answering(status: number, body: string, headers: Record<string, string> = {}) {
  const served = await serve((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  });
  closing.push(served.server);
  return served;
}

describe('searchCmr', () => {
  let emulator: CmrEmulator;
  let cmr: CmrOptions;
  let delays: number[];

  beforeEach(async () => {
    const { collection } = syntheticCollection({
      conceptId: 'C1-EMU',
      shortName: 'S',
      version: '1',
      granules: 1,
    });
    emulator = await startCmrEmulator({ collections: [collection], tokens: [TOKEN] });
    delays = [];
    cmr = {
      cmrUrl: emulator.url,
      policy,
      sleep: async (ms) => void delays.push(ms),
      random: () => 0.5,
    };
  });

  afterEach(async () => {
    await emulator.close();
  });

  it('POSTs the parameters as a form, with Client-Id, and without a token unless given one', async () => {
    const answer = await searchCmr(COLLECTIONS, cmr);
    expect(answer).toMatchObject({ kind: 'page', hits: 1 });
    expect(emulator.searches[0]).toMatchObject({
      method: 'POST',
      clientId: 's3-direct-transfer',
      authorized: false,
    });
    await searchCmr({ ...COLLECTIONS, token: TOKEN }, cmr);
    expect(emulator.searches[1].authorized).toBe(true);
  });

  it('retries 5xx and 429 with backoff, never sooner than Retry-After', async () => {
    emulator.failNext(1, 503);
    emulator.failNext(1, 429, 2);
    const answer = await searchCmr(COLLECTIONS, cmr);
    expect(answer.kind).toBe('page');
    expect(emulator.searches.map((s) => s.status)).toEqual([503, 429, 200]);
    expect(delays).toEqual([250, 2000]);
  });

  it('gives up after maxAttempts with CmrError naming the last failure', async () => {
    emulator.failNext(3, 502);
    await expect(searchCmr(COLLECTIONS, { ...cmr, maxAttempts: 3 })).rejects.toMatchObject({
      name: 'CmrError',
      message: expect.stringMatching(
        /no answer after 3 attempt\(s\); last: HTTP 502: An Internal Error has occurred\./,
      ),
    });
  });

  it("refuses a query CMR refuses with CmrError, quoting CMR's errors", async () => {
    await expect(
      searchCmr({ resource: 'granules.umm_json', params: [['colection', 'x']] }, cmr),
    ).rejects.toMatchObject({
      name: 'CmrError',
      message: expect.stringMatching(
        /HTTP 400: Parameter \[colection\] was not recognized\..*CMR-Request-Id /,
      ),
    });
    expect(emulator.searches).toHaveLength(1);
  });

  it('retries a network failure, then fails with CmrError', async () => {
    const closed = await answering(200, '{}');
    await new Promise((resolve) => closed.server.close(resolve));
    await expect(
      searchCmr(COLLECTIONS, { ...cmr, cmrUrl: closed.url, maxAttempts: 2 }),
    ).rejects.toMatchObject({
      name: 'CmrError',
      message: expect.stringContaining('ECONNREFUSED'),
    });
    expect(delays).toHaveLength(1);
  });
});

describe('searchCmr against odd answers', () => {
  const options = (cmrUrl: string): CmrOptions => ({
    cmrUrl,
    policy,
    sleep: async () => undefined,
    maxAttempts: 2,
  });

  it('never follows a redirect (it could carry the token elsewhere)', async () => {
    const elsewhere = await answering(200, '{"hits":0,"items":[]}');
    const redirecting = await answering(302, '', { location: `${elsewhere.url}/collections.umm_json` });
    await expect(searchCmr({ ...COLLECTIONS, token: TOKEN }, options(redirecting.url))).rejects.toMatchObject(
      {
        name: 'CmrError',
        message: expect.stringContaining('CMR answered a redirect (HTTP 302), which is not followed'),
      },
    );
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('fails with CmrError on a 200 that is not UMM-JSON results', async () => {
    const html = await answering(200, '<html>maintenance</html>', { 'content-type': 'text/html' });
    await expect(searchCmr(COLLECTIONS, options(html.url))).rejects.toMatchObject({
      name: 'CmrError',
      message: expect.stringContaining('HTTP 200 but not UMM-JSON search results (maintenance'),
    });
  });

  it('hints at the search root on a 404', async () => {
    const missing = await answering(404, '{"errors":["Not Found"]}');
    await expect(searchCmr(COLLECTIONS, options(missing.url))).rejects.toMatchObject({
      message: expect.stringContaining('is Source.CmrUrl a CMR search root'),
    });
  });

  it('keeps the token out of every message, even when CMR echoes it', async () => {
    const echo = await answering(401, JSON.stringify({ errors: [`Token [${TOKEN}] has expired.`] }));
    const error = await searchCmr({ ...COLLECTIONS, token: TOKEN }, options(echo.url)).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'AuthenticationFailed' });
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(TOKEN);
    expect(echo.requests[0].headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('refuses a token that cannot be a header value, without quoting it', async () => {
    const never = await answering(200, '{"hits":0,"items":[]}');
    const error = await searchCmr({ ...COLLECTIONS, token: `${TOKEN}\r\nX: 1` }, options(never.url)).catch(
      (e: Error) => e,
    );
    expect(error).toMatchObject({ name: 'InvalidInput' });
    expect((error as Error).message).not.toContain(TOKEN);
    expect(never.requests).toHaveLength(0);
  });

  it('reads an answer up to the cap, and says when it was over it', async () => {
    const big = await answering(200, JSON.stringify({ hits: 1, items: [{ padding: 'x'.repeat(5000) }] }));
    expect(await searchCmr(COLLECTIONS, { ...options(big.url), maxPageBytes: 1000 })).toEqual({
      kind: 'tooLarge',
      maxBytes: 1000,
    });
    expect(await searchCmr(COLLECTIONS, options(big.url))).toMatchObject({ kind: 'page', hits: 1 });
  });

  it('sends the content type CMR requires for a form body, exactly', async () => {
    const ok = await answering(200, '{"hits":0,"items":[]}', { 'cmr-hits': '0' });
    await searchCmr({ ...COLLECTIONS, searchAfter: '["a",1,2]' }, options(ok.url));
    const headers = ok.requests[0].headers;
    expect(headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(headers['cmr-search-after']).toBe('["a",1,2]');
    expect(headers['client-id']).toBe('s3-direct-transfer');
  });
});
