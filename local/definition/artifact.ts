/**
 * The state machine definition as the one-machine host runs it: taken from the synthesized CloudFormation
 * template, with its CloudFormation tokens resolved to placeholders (one per logical id), so that the host
 * runs exactly what `cdk deploy` would deploy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isObject } from '../stepfunctions/asl';
// Imported, not read from disk: a bundle of the command line carries it wherever it runs from.
import committedArtifact from './definition.json';

export const PLACEHOLDER_REGION = 'us-west-2';
export const PLACEHOLDER_ACCOUNT = '000000000000';
export const PLACEHOLDER_PARTITION = 'aws';

type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };
type Template = { Resources?: Record<string, Resource> };

export interface ResolvedDefinition {
  /** The Amazon States Language definition, tokens replaced by placeholders. */
  definition: object;
  /** Placeholder ARN of every Lambda function of the template, by logical id. */
  lambdaArns: Record<string, string>;
  /** Placeholder name of every S3 bucket of the template, by logical id. */
  bucketNames: Record<string, string>;
}

/** Placeholder bucket name of a logical id: lowercase, as bucket names must be, and at most 63 characters. */
export function placeholderBucketName(logicalId: string): string {
  return logicalId.toLowerCase().slice(0, 63);
}

export function placeholderLambdaArn(logicalId: string): string {
  return `arn:${PLACEHOLDER_PARTITION}:lambda:${PLACEHOLDER_REGION}:${PLACEHOLDER_ACCOUNT}:function:${logicalId}`;
}

function resources(template: object): Record<string, Resource> {
  const all = (template as Template).Resources;
  if (!isObject(all)) throw new Error('not a CloudFormation template (no Resources)');
  return all as Record<string, Resource>;
}

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': PLACEHOLDER_PARTITION,
  'AWS::Region': PLACEHOLDER_REGION,
  'AWS::AccountId': PLACEHOLDER_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

/** Resolves the intrinsic functions CDK puts in a DefinitionString; anything else is an error, never a guess. */
function resolveToken(token: unknown, all: Record<string, Resource>, where: string): string {
  if (typeof token === 'string') return token;
  if (!isObject(token) || Object.keys(token).length !== 1) {
    throw new Error(`${where}: unexpected value ${JSON.stringify(token)}`);
  }
  const [fn, args] = Object.entries(token)[0];
  if (fn === 'Ref' && typeof args === 'string') {
    if (args in PSEUDO_PARAMETERS) return PSEUDO_PARAMETERS[args];
    const type = all[args]?.Type;
    if (type === 'AWS::S3::Bucket') return placeholderBucketName(args);
    if (type === 'AWS::Lambda::Function') return args;
    throw new Error(`${where}: cannot resolve Ref ${args} (${type ?? 'not a resource'})`);
  }
  if (fn === 'Fn::GetAtt' && Array.isArray(args) && args.length === 2) {
    const [id, attribute] = args as [string, string];
    const type = all[id]?.Type;
    if (type === 'AWS::Lambda::Function' && attribute === 'Arn') return placeholderLambdaArn(id);
    if (type === 'AWS::S3::Bucket' && attribute === 'Arn')
      return `arn:${PLACEHOLDER_PARTITION}:s3:::${placeholderBucketName(id)}`;
    throw new Error(`${where}: cannot resolve Fn::GetAtt ${id}.${attribute} (${type ?? 'not a resource'})`);
  }
  if (fn === 'Fn::Join' && Array.isArray(args) && args.length === 2 && typeof args[0] === 'string') {
    if (!Array.isArray(args[1])) throw new Error(`${where}: Fn::Join of ${JSON.stringify(args[1])}`);
    return args[1].map((part) => resolveToken(part, all, where)).join(args[0]);
  }
  throw new Error(`${where}: unsupported intrinsic function ${fn}`);
}

/**
 * Takes the `AWS::StepFunctions::StateMachine` of a synthesized template (the only one, or `stateMachineLogicalId`)
 * and returns its definition with every token resolved: Lambda `Fn::GetAtt [X, Arn]` to
 * `arn:aws:lambda:us-west-2:000000000000:function:X`, bucket `Ref`s to the lowercased logical id, and the
 * pseudo parameters to placeholders.
 */
export function resolveDefinition(template: object, stateMachineLogicalId?: string): ResolvedDefinition {
  const all = resources(template);
  const machines = Object.keys(all).filter((id) => all[id].Type === 'AWS::StepFunctions::StateMachine');
  const id = stateMachineLogicalId ?? (machines.length === 1 ? machines[0] : undefined);
  if (id === undefined || !machines.includes(id)) {
    throw new Error(
      stateMachineLogicalId
        ? `no state machine ${stateMachineLogicalId} in the template (found: ${machines.join(', ') || 'none'})`
        : `expected exactly one state machine in the template, found: ${machines.join(', ') || 'none'}`,
    );
  }
  const properties = all[id].Properties ?? {};
  const extra = Object.keys(properties).filter(
    (p) => p === 'Definition' || p === 'DefinitionS3Location' || p === 'DefinitionSubstitutions',
  );
  if (extra.length > 0)
    throw new Error(`state machine ${id}: ${extra.join(', ')} not supported (expected DefinitionString)`);
  if (properties.DefinitionString === undefined)
    throw new Error(`state machine ${id} has no DefinitionString`);
  const text = resolveToken(properties.DefinitionString, all, `state machine ${id} DefinitionString`);

  const lambdaArns: Record<string, string> = {};
  const bucketNames: Record<string, string> = {};
  for (const [logicalId, resource] of Object.entries(all)) {
    if (resource.Type === 'AWS::Lambda::Function') lambdaArns[logicalId] = placeholderLambdaArn(logicalId);
    if (resource.Type === 'AWS::S3::Bucket') bucketNames[logicalId] = placeholderBucketName(logicalId);
  }
  return { definition: JSON.parse(text) as object, lambdaArns, bucketNames };
}

/** The roles of the pipeline's Lambda functions. */
export type FunctionRole = 'plan' | 'copy' | 'summarize';

/** The build-time artifact `local/definition/definition.json` (see build.ts). */
export interface DefinitionArtifact {
  definition: object;
  functions: Record<FunctionRole, string>;
  stagingBucketPlaceholder: string;
}

export const DEFINITION_ARTIFACT_PATH = join(__dirname, 'definition.json');

/**
 * The committed artifact (a copy: callers may change it), or the one at `path`: a CLI start does not pay
 * for a CDK synth.
 */
export function loadDefinitionArtifact(path?: string): DefinitionArtifact {
  const artifact = (
    path === undefined ? structuredClone(committedArtifact) : JSON.parse(readFileSync(path, 'utf8'))
  ) as DefinitionArtifact;
  path ??= DEFINITION_ARTIFACT_PATH;
  for (const role of ['plan', 'copy', 'summarize'] as const) {
    if (typeof artifact.functions?.[role] !== 'string') throw new Error(`${path}: no ${role} function`);
  }
  if (!isObject(artifact.definition) || typeof artifact.stagingBucketPlaceholder !== 'string') {
    throw new Error(`${path} is not a definition artifact`);
  }
  return artifact;
}
