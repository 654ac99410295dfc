import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { DEFAULT_CONFIG, type PipelineConfig } from '../../infra/config';
import { flattenReference } from '../../infra/nag-acknowledgments';
import { STACK_NAME, TransferStack } from '../../infra/stack';

export type Json = Record<string, unknown>;

export interface Synthesized {
  app: App;
  stack: TransferStack;
  template: Json;
  /** Logical id -> readable name of the pipeline's main resources. */
  names: Record<string, string>;
  /** The synthesis error (e.g. cdk-nag violations), if any. */
  error?: Error;
}

const outdirs: string[] = [];
afterAll(() => outdirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/**
 * Synthesizes the ready stack in memory, once per test file. Lambda bundling is skipped (the definition
 * and the template do not depend on it; test/infra/bundling.test.ts bundles for real).
 */
export function synthesizeStack(
  config: Partial<PipelineConfig> = {},
  options: { nag?: boolean; bundle?: boolean; customize?: (stack: TransferStack) => void } = {},
): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'infra-test-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: options.bundle ? {} : { [BUNDLING_STACKS]: [] } });
  const stack = new TransferStack(app, STACK_NAME, {
    config: { ...DEFAULT_CONFIG, destinationBuckets: [], ...config },
  });
  options.customize?.(stack);
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let template: Json = {};
  let error: Error | undefined;
  try {
    template = app.synth().getStackByName(stack.stackName).template as Json;
  } catch (e) {
    error = e as Error;
  }
  return { app, stack, template, names: mainResourceNames(stack), error };
}

export function logicalIdOf(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).resolve(element.logicalId) as string;
}

function mainResourceNames(stack: TransferStack): Record<string, string> {
  const p = stack.pipeline;
  const named: Record<string, IConstruct> = {
    StagingBucket: p.stagingBucket,
    PlanFunction: p.planFunction,
    CopyFunction: p.copyFunction,
    SummarizeFunction: p.summarizeFunction,
    StateMachine: p.stateMachine,
    PlanRole: p.planFunction.role!,
    CopyRole: p.copyFunction.role!,
    SummarizeRole: p.summarizeFunction.role!,
    StateMachineRole: p.stateMachine.role,
    PlanLogs: p.planFunction.logGroup,
    CopyLogs: p.copyFunction.logGroup,
    SummarizeLogs: p.summarizeFunction.logGroup,
    CleanupFunction: p.runCleanup.function.function,
    CleanupRole: p.runCleanup.function.role,
    CleanupLogs: p.runCleanup.function.logGroup,
    CleanupRule: p.runCleanup.rule,
    CleanupDeadLetters: p.runCleanup.deadLetterQueue,
    TokenKey: p.stagingTokenKey,
  };
  const { alarms, alarmTopic, dashboard } = p.monitoring;
  if (dashboard) named.Dashboard = dashboard;
  named.FailedExecutionsAlarm = alarms.failedExecutions;
  named.CopyErrorsAlarm = alarms.copyErrors;
  named.FailedObjectsAlarm = alarms.failedObjects;
  if (alarms.unstartedMirrorRuns) named.UnstartedMirrorRunsAlarm = alarms.unstartedMirrorRuns;
  if (alarmTopic) {
    named.AlarmTopic = alarmTopic;
    named.AlarmTopicKey = alarmTopic.masterKey!;
  }
  if (p.mirrorSchedules) {
    named.ScheduleGroup = p.mirrorSchedules.group;
    named.SchedulerRole = p.mirrorSchedules.role;
    named.MirrorsDeadLetterQueue = p.mirrorSchedules.deadLetterQueue;
  }
  const out: Record<string, string> = {};
  for (const [name, construct] of Object.entries(named)) out[logicalIdOf(construct)] = name;
  return out;
}

/** Replaces logical ids by the readable names in a text. */
export function rename(text: string, names: Record<string, string>): string {
  for (const [id, name] of Object.entries(names)) text = text.split(id).join(name);
  return text;
}

/** A CloudFormation value as readable text: `<StagingBucket.Arn>/runs/*`, `arn:<AWS::Partition>:...`. */
export function readable(value: unknown, names: Record<string, string>): string {
  return rename(flattenReference(value), names);
}

const INTRINSICS = ['Ref', 'Fn::Join', 'Fn::GetAtt', 'Fn::Sub', 'Fn::ImportValue'];

/** Like {@link readable}, applied to every intrinsic inside a JSON value. */
export function deepReadable(value: unknown, names: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => deepReadable(v, names));
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && INTRINSICS.includes(keys[0])) return readable(value, names);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepReadable(v, names)]));
  }
  return value;
}

export interface ReadableStatement {
  Sid?: string;
  Action: string[];
  Resource: string[];
  Condition?: unknown;
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every Allow statement of every policy attached to a role (inline or AWS::IAM::Policy), readable. */
export function roleStatements(synth: Synthesized, roleName: string): ReadableStatement[] {
  const roleId = Object.entries(synth.names).find(([, n]) => n === roleName)?.[0];
  if (!roleId) throw new Error(`no role ${roleName}`);
  const resources = synth.template.Resources as Record<string, { Type: string; Properties: Json }>;
  const documents: Json[] = [];
  const role = resources[roleId];
  for (const policy of asArray(role.Properties.Policies as Json[]))
    documents.push(policy.PolicyDocument as Json);
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const roles = asArray(resource.Properties.Roles as Json[]);
    if (roles.some((r) => r.Ref === roleId)) documents.push(resource.Properties.PolicyDocument as Json);
  }
  return documents.flatMap((doc) =>
    asArray(doc.Statement as Json[]).map((s) => {
      if (s.Effect !== 'Allow') throw new Error(`unexpected ${String(s.Effect)} statement`);
      const out: ReadableStatement = {
        Action: asArray(s.Action as string[]).sort(),
        Resource: asArray(s.Resource)
          .map((r) => readable(r, synth.names))
          .sort(),
      };
      if (s.Sid) out.Sid = s.Sid as string;
      if (s.Condition) out.Condition = deepReadable(s.Condition, synth.names);
      return out;
    }),
  );
}

/** The state machine's definition, tokens flattened to readable text, parsed. */
export function definitionOf(synth: Synthesized): Json {
  const resources = synth.template.Resources as Record<string, { Type: string; Properties: Json }>;
  const sm = Object.values(resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine')!;
  // Literal parts verbatim (they hold JSON braces); tokens as readable text.
  return joinedJson(sm.Properties.DefinitionString, synth.names);
}

/** A JSON document CloudFormation assembles with Fn::Join (a dashboard body), tokens as readable text, parsed. */
export function joinedJson(value: unknown, names: Record<string, string>): Json {
  if (typeof value === 'string') return JSON.parse(value) as Json;
  const [delimiter, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return JSON.parse(
    parts.map((p) => (typeof p === 'string' ? p : readable(p, names))).join(delimiter),
  ) as Json;
}

/** Resources of a type, by logical id. */
export function resourcesOfType(synth: Synthesized, type: string): Record<string, Json> {
  const resources = synth.template.Resources as Record<string, { Type: string; Properties: Json }>;
  return Object.fromEntries(
    Object.entries(resources)
      .filter(([, r]) => r.Type === type)
      .map(([id, r]) => [id, r.Properties]),
  );
}
