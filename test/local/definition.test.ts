import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDefinitionArtifact, resolveDefinition } from '../../local/definition/artifact';

const stateMachine = (definitionString: unknown) => ({
  Type: 'AWS::StepFunctions::StateMachine',
  Properties: { DefinitionString: definitionString, RoleArn: { 'Fn::GetAtt': ['Role', 'Arn'] } },
});

/** A template shaped like CDK's: the definition is an Fn::Join of JSON fragments and tokens. */
const template = {
  Resources: {
    PlanFn1234: { Type: 'AWS::Lambda::Function', Properties: {} },
    CopyFn5678: { Type: 'AWS::Lambda::Function', Properties: {} },
    StagingBucketABCD: { Type: 'AWS::S3::Bucket', Properties: {} },
    Role: { Type: 'AWS::IAM::Role', Properties: {} },
    Machine: stateMachine({
      'Fn::Join': [
        '',
        [
          '{"StartAt":"Plan","States":{"Plan":{"Type":"Task","Resource":"',
          { 'Fn::GetAtt': ['PlanFn1234', 'Arn'] },
          '","Next":"Copy"},"Copy":{"Type":"Task","Resource":"arn:',
          { Ref: 'AWS::Partition' },
          ':states:::lambda:invoke","Parameters":{"FunctionName":"',
          { 'Fn::GetAtt': ['CopyFn5678', 'Arn'] },
          '","Payload":{"Bucket":"',
          { Ref: 'StagingBucketABCD' },
          '","Where":"',
          { 'Fn::Join': [':', [{ Ref: 'AWS::Region' }, { Ref: 'AWS::AccountId' }]] },
          '"}},"End":true}}}',
        ],
      ],
    }),
  },
};

describe('resolveDefinition', () => {
  it('resolves the tokens of a CDK DefinitionString to placeholders per logical id', () => {
    const resolved = resolveDefinition(template);
    expect(resolved.definition).toEqual({
      StartAt: 'Plan',
      States: {
        Plan: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-west-2:000000000000:function:PlanFn1234',
          Next: 'Copy',
        },
        Copy: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: {
            FunctionName: 'arn:aws:lambda:us-west-2:000000000000:function:CopyFn5678',
            Payload: { Bucket: 'stagingbucketabcd', Where: 'us-west-2:000000000000' },
          },
          End: true,
        },
      },
    });
    expect(resolved.lambdaArns).toEqual({
      PlanFn1234: 'arn:aws:lambda:us-west-2:000000000000:function:PlanFn1234',
      CopyFn5678: 'arn:aws:lambda:us-west-2:000000000000:function:CopyFn5678',
    });
    expect(resolved.bucketNames).toEqual({ StagingBucketABCD: 'stagingbucketabcd' });
  });

  it('takes a plain string definition as it is', () => {
    const definition = { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } };
    const resolved = resolveDefinition({ Resources: { M: stateMachine(JSON.stringify(definition)) } });
    expect(resolved.definition).toEqual(definition);
  });

  it('needs the logical id when the template has several state machines', () => {
    const two = { Resources: { ...template.Resources, Other: stateMachine('{"StartAt":"P","States":{}}') } };
    expect(() => resolveDefinition(two)).toThrow(/exactly one state machine.*Machine, Other/);
    expect(resolveDefinition(two, 'Other').definition).toEqual({ StartAt: 'P', States: {} });
    expect(() => resolveDefinition(two, 'Nope')).toThrow(/no state machine Nope/);
    expect(() => resolveDefinition({ Resources: {} })).toThrow(/found: none/);
  });

  it.each([
    ['an intrinsic function it does not know', { 'Fn::Sub': 'x' }, /Fn::Sub/],
    ['an attribute it cannot fake', { 'Fn::GetAtt': ['Role', 'Arn'] }, /Role\.Arn \(AWS::IAM::Role\)/],
    ['a Ref to an unknown resource', { Ref: 'Missing' }, /Ref Missing/],
  ])('refuses %s rather than guess', (_what, token, message) => {
    const broken = {
      Resources: {
        ...template.Resources,
        Machine: stateMachine({ 'Fn::Join': ['', ['{"a":"', token, '"}']] }),
      },
    };
    expect(() => resolveDefinition(broken)).toThrow(message);
  });
});

describe('loadDefinitionArtifact', () => {
  it('loads the committed artifact with the three functions the host binds', () => {
    const artifact = loadDefinitionArtifact();
    expect(Object.keys(artifact.functions).sort()).toEqual(['copy', 'plan', 'summarize']);
    const text = JSON.stringify(artifact.definition);
    for (const arn of Object.values(artifact.functions)) expect(text).toContain(arn);
    expect(artifact.stagingBucketPlaceholder).toMatch(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);
  });

  it('rejects an artifact without a function role', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'artifact-'));
    try {
      const path = join(dir, 'definition.json');
      await writeFile(
        path,
        JSON.stringify({
          definition: {},
          functions: { plan: 'a', copy: 'b' },
          stagingBucketPlaceholder: 'x',
        }),
      );
      expect(() => loadDefinitionArtifact(path)).toThrow(/no summarize function/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
