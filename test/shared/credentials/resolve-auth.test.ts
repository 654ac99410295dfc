import type { GetParameterCommandOutput } from '@aws-sdk/client-ssm';
import { GetParameterCommand, ParameterNotFound, SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { clearTokenCache, resolveTeaAuth } from '../../../shared/credentials/resolve-auth';
import { ErrorName } from '../../../shared/errors';
import { clearSecrets, redactText } from '../../../shared/log';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({ region: 'eu-north-1' });

beforeEach(() => {
  ssmMock.reset();
  clearTokenCache();
  clearSecrets();
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

function serviceError(name: string, message: string): SSMServiceException {
  return new SSMServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

describe('resolveTeaAuth inline', () => {
  it('returns an inline bearer token, trimmed, and registers it as a secret', async () => {
    const token = 'inline-bearer-token-123456';
    await expect(resolveTeaAuth({ BearerToken: ` ${token}\n` })).resolves.toEqual({ kind: 'bearer', token });
    expect(redactText(`x ${token} y`)).toBe('x **** y');
  });

  it('returns an inline cookie', async () => {
    await expect(resolveTeaAuth({ JwtCookie: 'jwt.value.here' })).resolves.toEqual({
      kind: 'cookie',
      jwt: 'jwt.value.here',
    });
  });

  it.each([
    [{}],
    [{ BearerToken: 'a-token-value', JwtCookie: 'b' }],
    [{ BearerToken: 'a-token-value', BearerTokenParameter: '/p' }],
    [{ BearerToken: '   ' }],
  ])('rejects %j as InvalidInput', async (source) => {
    const error = await failure(resolveTeaAuth(source, ssm));
    expect(error.name).toBe(ErrorName.InvalidInput);
    expect(ssmMock.calls()).toHaveLength(0);
  });
});

describe('resolveTeaAuth from SSM', () => {
  it('reads the parameter with decryption and strips a trailing newline', async () => {
    ssmMock
      .on(GetParameterCommand)
      .resolves({ Parameter: { Name: '/edl/token', Type: 'SecureString', Value: 'ssm-token-abcdef123\n' } });
    await expect(resolveTeaAuth({ BearerTokenParameter: '/edl/token' }, ssm)).resolves.toEqual({
      kind: 'bearer',
      token: 'ssm-token-abcdef123',
    });
    expect(ssmMock.commandCalls(GetParameterCommand)[0].args[0].input).toEqual({
      Name: '/edl/token',
      WithDecryption: true,
    });
    expect(redactText('ssm-token-abcdef123')).toBe('****');
  });

  it('caches the value for the TTL, then reads again', async () => {
    ssmMock
      .on(GetParameterCommand)
      .resolvesOnce({ Parameter: { Type: 'SecureString', Value: 'first-token-0000001' } })
      .resolvesOnce({ Parameter: { Type: 'SecureString', Value: 'second-token-000002' } });
    let now = 1_000_000;
    const options = { now: () => now, ttlMs: 60_000 };
    const read = () => resolveTeaAuth({ BearerTokenParameter: '/edl/token' }, ssm, options);
    expect(await read()).toEqual({ kind: 'bearer', token: 'first-token-0000001' });
    now += 59_999;
    expect(await read()).toEqual({ kind: 'bearer', token: 'first-token-0000001' });
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(1);
    now += 1;
    expect(await read()).toEqual({ kind: 'bearer', token: 'second-token-000002' });
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(2);
  });

  it('shares one read between concurrent callers', async () => {
    ssmMock
      .on(GetParameterCommand)
      .resolves({ Parameter: { Type: 'SecureString', Value: 'shared-token-123456' } });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => resolveTeaAuth({ BearerTokenParameter: '/edl/token' }, ssm)),
    );
    expect(new Set(results.map((r) => (r.kind === 'bearer' ? r.token : '')))).toEqual(
      new Set(['shared-token-123456']),
    );
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(1);
  });

  it('ParameterNotFound names the parameter and the region, and is not cached', async () => {
    ssmMock
      .on(GetParameterCommand)
      .rejectsOnce(new ParameterNotFound({ message: '', $metadata: {} }))
      .resolves({ Parameter: { Type: 'SecureString', Value: 'created-later-token' } });
    const error = await failure(resolveTeaAuth({ BearerTokenParameter: '/edl/missing' }, ssm));
    expect(error.name).toBe(ErrorName.TokenParameterError);
    expect(error.message).toContain('SSM parameter /edl/missing not found in region eu-north-1');
    await expect(resolveTeaAuth({ BearerTokenParameter: '/edl/missing' }, ssm)).resolves.toEqual({
      kind: 'bearer',
      token: 'created-later-token',
    });
  });

  it('AccessDeniedException says which permissions are missing', async () => {
    ssmMock
      .on(GetParameterCommand)
      .rejects(
        serviceError(
          'AccessDeniedException',
          'User: arn:aws:sts::1:assumed-role/r is not authorized to perform: ssm:GetParameter',
        ),
      );
    const error = await failure(resolveTeaAuth({ BearerTokenParameter: '/edl/token' }, ssm));
    expect(error.name).toBe(ErrorName.TokenParameterError);
    expect(error.message).toContain('ssm:GetParameter');
    expect(error.message).toContain('kms:Decrypt');
    expect(error.message).toContain('arn:aws:ssm:eu-north-1:<account>:parameter/edl/token');
  });

  it('a KMS denial (UnknownError with Code) is a TokenParameterError too', async () => {
    const kms = Object.assign(new Error('not authorized to perform: kms:Decrypt'), {
      name: 'UnknownError',
      Code: 'AccessDeniedException',
    });
    ssmMock.on(GetParameterCommand).rejects(kms);
    const error = await failure(resolveTeaAuth({ BearerTokenParameter: 'edl-token' }, ssm));
    expect(error.name).toBe(ErrorName.TokenParameterError);
    expect(error.message).toContain('kms:Decrypt');
    expect(error.message).toContain('parameter/edl-token');
  });

  it.each<[GetParameterCommandOutput]>([
    [{ Parameter: { Type: 'SecureString', Value: '  \n' } } as GetParameterCommandOutput],
    [{ Parameter: { Type: 'SecureString' } } as GetParameterCommandOutput],
  ])('an empty value %j is a TokenParameterError', async (output) => {
    ssmMock.on(GetParameterCommand).resolves(output);
    const error = await failure(resolveTeaAuth({ BearerTokenParameter: '/edl/empty' }, ssm));
    expect(error.name).toBe(ErrorName.TokenParameterError);
    expect(error.message).toContain('/edl/empty');
    expect(error.message).toContain('empty');
  });

  it.each<[GetParameterCommandOutput]>([
    [{ Parameter: { Type: 'String', Value: 'plain-text-token-1' } } as GetParameterCommandOutput],
    [{ Parameter: {} } as GetParameterCommandOutput],
    [{} as GetParameterCommandOutput],
  ])('refuses a parameter that is not a SecureString (%j)', async (output) => {
    ssmMock.on(GetParameterCommand).resolves(output);
    const error = await failure(resolveTeaAuth({ BearerTokenParameter: '/edl/plain' }, ssm));
    expect(error.name).toBe(ErrorName.TokenParameterError);
    expect(error.message).toContain('not a SecureString');
    expect(error.message).not.toContain('plain-text-token-1');
  });

  it('reads an asf-urs cookie stored as asf-urs=<jwt>, and a bearer token otherwise', async () => {
    ssmMock
      .on(GetParameterCommand, { Name: '/edl/cookie' })
      .resolves({ Parameter: { Type: 'SecureString', Value: 'asf-urs=eyJhbGciOi.jwt-body.sig\n' } });
    expect(await resolveTeaAuth({ BearerTokenParameter: '/edl/cookie' }, ssm)).toEqual({
      kind: 'cookie',
      jwt: 'eyJhbGciOi.jwt-body.sig',
    });
  });

  it('passes other errors (throttling) through unchanged', async () => {
    const throttled = serviceError('ThrottlingException', 'Rate exceeded');
    ssmMock.on(GetParameterCommand).rejects(throttled);
    const error = await failure(resolveTeaAuth({ BearerTokenParameter: '/edl/token' }, ssm));
    expect(error.name).toBe('ThrottlingException');
  });

  it('keys the cache by region', async () => {
    const other = new SSMClient({ region: 'us-east-1' });
    ssmMock
      .on(GetParameterCommand)
      .resolvesOnce({ Parameter: { Type: 'SecureString', Value: 'token-eu-north-one' } })
      .resolvesOnce({ Parameter: { Type: 'SecureString', Value: 'token-us-east-one1' } });
    await resolveTeaAuth({ BearerTokenParameter: '/edl/token' }, ssm);
    await expect(resolveTeaAuth({ BearerTokenParameter: '/edl/token' }, other)).resolves.toEqual({
      kind: 'bearer',
      token: 'token-us-east-one1',
    });
  });
});
