/**
 * Staged tokens and the allowlist in the synthesized stack: who may encrypt, decrypt, read, write and
 * delete a staged token, that every way an execution ends deletes it, and that executions time out.
 */
import { deepReadable, definitionOf, readable, resourcesOfType, synthesizeStack, type Json } from './helpers';

const synth = synthesizeStack({ destinationBuckets: [{ bucketName: 'dest-a' }] });
const [keyProps] = Object.values(resourcesOfType(synth, 'AWS::KMS::Key'));
const keyStatements = deepReadable(
  (keyProps.KeyPolicy as { Statement: Json[] }).Statement,
  synth.names,
) as Json[];
const [bucketPolicy] = Object.values(resourcesOfType(synth, 'AWS::S3::BucketPolicy'));
const bucketStatements = deepReadable(
  (bucketPolicy.PolicyDocument as { Statement: Json[] }).Statement,
  synth.names,
) as Json[];
const bySid = (statements: Json[], sid: string): Json => {
  const found = statements.find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
};
const actionsOf = (s: Json): string[] => [s.Action].flat() as string[];

describe('the staged-token key', () => {
  it('rotates, and lets the account administer it without using it', () => {
    expect(keyProps.EnableKeyRotation).toBe(true);
    const admin = bySid(keyStatements, 'AdministerKey');
    expect(admin.Effect).toBe('Allow');
    for (const use of ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncrypt*', 'kms:*']) {
      expect(actionsOf(admin)).not.toContain(use);
    }
    expect(actionsOf(admin).some((a) => /^kms:(Decrypt|Encrypt|GenerateDataKey|ReEncrypt)/.test(a))).toBe(
      false,
    );
  });

  it('encrypts for Plan only and decrypts for CopyBatch only, through S3 and for staged tokens only', () => {
    const allows = keyStatements.filter((s) => s.Effect === 'Allow' && s.Sid !== 'AdministerKey');
    expect(allows.map((s) => [s.Sid, readable(s.Principal, synth.names), actionsOf(s).sort()])).toEqual([
      [
        'PlanEncryptsStagedTokens',
        JSON.stringify({ AWS: '<PlanRole.Arn>' }),
        ['kms:Encrypt', 'kms:GenerateDataKey'],
      ],
      ['CopyBatchDecryptsStagedTokens', JSON.stringify({ AWS: '<CopyRole.Arn>' }), ['kms:Decrypt']],
    ]);
    for (const s of allows) {
      expect(s.Condition).toEqual({
        StringEquals: { 'kms:ViaService': 's3.<AWS::Region>.amazonaws.com' },
        StringLike: { 'kms:EncryptionContext:aws:s3:arn': '<StagingBucket.Arn>/tokens/*' },
      });
    }
  });

  it('denies decryption to every principal but CopyBatch, whatever IAM grants', () => {
    expect(bySid(keyStatements, 'NobodyElseDecrypts')).toEqual({
      Sid: 'NobodyElseDecrypts',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['kms:Decrypt', 'kms:ReEncrypt*'],
      Resource: '*',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': '<CopyRole.Arn>' } },
    });
  });
});

describe('the staging bucket policy', () => {
  it('denies reading staged tokens to everyone but CopyBatch', () => {
    expect(bySid(bucketStatements, 'OnlyCopyBatchReadsStagedTokens')).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: '<StagingBucket.Arn>/tokens/*',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': '<CopyRole.Arn>' } },
    });
  });

  it('denies writing staged tokens to everyone but Plan, and without the token key', () => {
    expect(bySid(bucketStatements, 'OnlyPlanWritesStagedTokens')).toMatchObject({
      Effect: 'Deny',
      Action: 's3:PutObject',
      Resource: '<StagingBucket.Arn>/tokens/*',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': '<PlanRole.Arn>' } },
    });
    const header = 's3:x-amz-server-side-encryption-aws-kms-key-id';
    expect(bySid(bucketStatements, 'StagedTokensNameTheTokenKey')).toMatchObject({
      Effect: 'Deny',
      Condition: { Null: { [header]: 'true' } },
    });
    expect(bySid(bucketStatements, 'StagedTokensUseTheTokenKey')).toMatchObject({
      Effect: 'Deny',
      Condition: { StringNotEquals: { [header]: '<TokenKey.Arn>' } },
    });
  });
});

describe('when an execution ends', () => {
  const [rule] = Object.values(resourcesOfType(synth, 'AWS::Events::Rule'));

  it('an EventBridge rule sends every ending of this state machine’s executions to the cleanup', () => {
    expect(deepReadable(rule.EventPattern, synth.names)).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        stateMachineArn: ['<StateMachine>'],
        status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
      },
    });
    const [target] = deepReadable(rule.Targets, synth.names) as Json[];
    expect(target).toMatchObject({
      Arn: '<CleanupFunction.Arn>',
      RetryPolicy: { MaximumRetryAttempts: 8 },
      DeadLetterConfig: { Arn: '<CleanupDeadLetters.Arn>' },
    });
  });

  it('the state machine times out after a day by default, and with executionTimeout otherwise', () => {
    expect(definitionOf(synth).TimeoutSeconds).toBe(86_400);
    expect(definitionOf(synthesizeStack({ executionTimeout: 7200 })).TimeoutSeconds).toBe(7200);
  });
});

describe('the credentials endpoint allowlist', () => {
  it('refuses, at synth, an entry that is an IP address, plain http or another wildcard', () => {
    for (const entry of [
      'https://10.0.0.1/s3credentials',
      'http://tea.example.org/x',
      'https://*tea.example.org',
    ]) {
      expect(() => synthesizeStack({ credentialsEndpoints: [entry] })).toThrow(/credentialsEndpoints/);
    }
  });

  it('reaches both Lambdas that send the token', () => {
    const custom = synthesizeStack({ credentialsEndpoints: ['https://tea.example.org/s3credentials'] });
    const functions = resourcesOfType(custom, 'AWS::Lambda::Function');
    const withAllowlist = Object.entries(functions)
      .filter(([, f]) => (f.Environment as { Variables: Json }).Variables.CREDENTIALS_ENDPOINTS !== undefined)
      .map(([id, f]) => [
        custom.names[id],
        (f.Environment as { Variables: Json }).Variables.CREDENTIALS_ENDPOINTS,
      ]);
    expect(withAllowlist.sort()).toEqual([
      ['CopyFunction', 'https://tea.example.org/s3credentials'],
      ['PlanFunction', 'https://tea.example.org/s3credentials'],
    ]);
  });
});
