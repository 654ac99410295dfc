/**
 * A token-theft attempt against a deployment, run through the one-machine runner with the deployed
 * policy: an event names the team's SSM-held token and a credentials endpoint that is not an archive's.
 * The run fails with InvalidInput before the token is read, and the would-be endpoint sees no request.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { runPipelineLocally } from '../../local/pipeline';
import { DEPLOYED_RUN_POLICY, ONE_MACHINE_POLICY } from '../../shared/run-policy';
import { startE2EWorld, type E2EWorld } from './world';

const TEAM_TOKEN = 'EDL-team-token-that-must-not-leave-0123456789';
const ssmMock = mockClient(SSMClient);

let world: E2EWorld;
let counting: Server;
let hits = 0;
let endpoint: string;

beforeAll(async () => {
  world = await startE2EWorld({ sourceBuckets: ['src'], destinationBuckets: ['dst'] });
  counting = createServer((_req, res) => {
    hits++;
    // What an attacker's endpoint would answer: keys of the attacker's own.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        accessKeyId: 'ASIAATTACKER',
        secretAccessKey: 'x',
        sessionToken: 'y',
        expiration: '2099-01-01T00:00:00Z',
      }),
    );
  });
  await new Promise<void>((resolve) => counting.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(counting.address() as AddressInfo).port}/s3credentials`;
});

afterAll(async () => {
  await new Promise((resolve) => counting?.close(resolve));
  await world?.stop();
});

beforeEach(() => {
  hits = 0;
  ssmMock.reset();
  ssmMock.on(GetParameterCommand).resolves({ Parameter: { Type: 'SecureString', Value: TEAM_TOKEN } });
});

const theft = (credentialsEndpoint: string) => ({
  CredentialsEndpoint: credentialsEndpoint,
  BearerTokenParameter: '/s3-direct-transfer/team-token',
  Source: { Bucket: world.bucket('src'), Key: 'a.h5' },
  Dest: { Bucket: world.bucket('dst') },
});

const localOptions = () => ({
  s3Config: world.s3Config(),
  destinationCredentials: world.destinationCredentials,
});

it.each([
  ['a loopback endpoint (the Lambda Runtime API in a Lambda)', () => endpoint],
  ['an endpoint on another host', () => 'https://attacker.example/s3credentials'],
  ['a host that ends like an archive’s', () => 'https://data.asf.alaska.edu.attacker.example/x'],
  ['an IP address', () => 'https://203.0.113.7/s3credentials'],
])('refuses %s with InvalidInput before the token is read, sending nothing', async (_what, url) => {
  const events: string[] = [];
  const outcome = await runPipelineLocally(theft(url()), {
    ...localOptions(),
    policy: DEPLOYED_RUN_POLICY,
    onEvent: (e) => events.push(JSON.stringify(e)),
  });
  expect(outcome.execution).toMatchObject({ Status: 'FAILED', Error: 'InvalidInput' });
  expect((outcome.execution as { Cause: string }).Cause).toContain('CredentialsEndpoint');
  expect(hits).toBe(0);
  expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(0);
  expect(events.join('\n')).not.toContain(TEAM_TOKEN);
});

it('the same event on one machine, where loopback is the user’s own, does reach the endpoint', async () => {
  // The control: the counting server is reachable, so the zero above is the allowlist's doing.
  const outcome = await runPipelineLocally(theft(endpoint), {
    ...localOptions(),
    policy: ONE_MACHINE_POLICY,
  });
  expect(outcome.execution.Status).toBe('FAILED');
  expect(hits).toBeGreaterThan(0);
  expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(1);
});
