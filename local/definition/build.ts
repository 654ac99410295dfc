/**
 * Builds local/definition/definition.json, the state machine definition the one-machine host runs, from the CDK app:
 * `npx tsx local/definition/build.ts`. A test keeps the committed file identical to a fresh synth.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, type CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { configFromContext } from '../../infra/config';
import { STACK_NAME, TransferStack } from '../../infra/stack';
import {
  DEFINITION_ARTIFACT_PATH,
  placeholderBucketName,
  resolveDefinition,
  type DefinitionArtifact,
  type FunctionRole,
} from './artifact';

const PROJECT_ROOT = join(__dirname, '..', '..');

function logicalId(construct: IConstruct): string {
  const resource = construct.node.defaultChild as CfnResource | undefined;
  if (!resource) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(resource);
}

/** Synthesizes the app's stack in memory (no Lambda bundling: the definition does not depend on it). */
export function synthesizeDefinitionArtifact(): DefinitionArtifact {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const outdir = mkdtempSync(join(tmpdir(), 'definition-synth-'));
  try {
    const app = new App({ outdir, context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
    const stack = new TransferStack(app, STACK_NAME, {
      config: configFromContext((key) => app.node.tryGetContext(key)),
    });
    const template = app.synth().getStackByName(stack.stackName).template as object;
    const { definition, lambdaArns } = resolveDefinition(template);

    // The roles come from the construct's own members, not from names or paths that may change.
    const { pipeline } = stack;
    const members: Record<FunctionRole, IConstruct> = {
      plan: pipeline.planFunction,
      copy: pipeline.copyFunction,
      summarize: pipeline.summarizeFunction,
    };
    const text = JSON.stringify(definition);
    const functions = {} as Record<FunctionRole, string>;
    for (const [role, fn] of Object.entries(members) as [FunctionRole, IConstruct][]) {
      const arn = lambdaArns[logicalId(fn)];
      if (!arn) throw new Error(`the ${role} function is not in the template`);
      if (!text.includes(arn))
        throw new Error(`the state machine does not invoke the ${role} function (${arn})`);
      functions[role] = arn;
    }
    return {
      definition,
      functions,
      stagingBucketPlaceholder: placeholderBucketName(logicalId(pipeline.stagingBucket)),
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const artifact = synthesizeDefinitionArtifact();
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(DEFINITION_ARTIFACT_PATH)) ?? {};
  const text = await prettier.format(JSON.stringify(artifact), { ...options, parser: 'json' });
  writeFileSync(DEFINITION_ARTIFACT_PATH, text);
  console.error(`wrote ${DEFINITION_ARTIFACT_PATH}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
