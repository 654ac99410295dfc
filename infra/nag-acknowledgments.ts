/**
 * cdk-nag (AwsSolutions pack) findings the pipeline accepts, each with its reason. Wildcard resources
 * are acknowledged one by one (`AwsSolutions-IAM5[Resource::<arn>]`) where they are granted, so that a
 * new wildcard anywhere still fails the synthesis.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/** Acknowledges IAM5 for these exact wildcard resources of `role`'s policies. */
export function acknowledgeWildcardResources(role: iam.IRole, resources: string[], reason: string): void {
  const stack = Stack.of(role);
  for (const resource of resources) {
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${flattenReference(stack.resolve(resource))}]`,
      reason,
    });
  }
}

/** The acknowledgments that belong to the pipeline as a whole. */
export function acknowledgePipelineFindings(parts: {
  stateMachine: sfn.StateMachine;
  stagingBucket: s3.IBucket;
  /** The functions the state machine invokes. */
  functions: lambda.IFunction[];
  /** Functions of the pipeline it does not invoke (the cleanup). */
  otherFunctions?: lambda.IFunction[];
}): void {
  const { stateMachine, stagingBucket, functions } = parts;
  Validations.of(stagingBucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      'The staging bucket holds only short-lived run files (7-day expiry) written and read by the ' +
      "pipeline's own roles; access is auditable with CloudTrail data events. A log bucket would need " +
      'logs of its own.',
  });
  for (const fn of [...functions, ...(parts.otherFunctions ?? [])]) {
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the runtime the Lambdas and the one-machine host are built and tested for ' +
        '(esbuild target node22); moving to a newer runtime is a deliberate, tested change.',
    });
  }
  Validations.of(stateMachine.role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'X-Ray (PutTraceSegments, GetSamplingRules, ...) and CloudWatch Logs delivery (CreateLogDelivery, ' +
      '...) actions support no resource-level permissions; CDK adds them for tracing and logging.',
  });
  acknowledgeWildcardResources(
    stateMachine.role,
    functions.map((fn) => `${fn.functionArn}:*`),
    'Invoke the pipeline Lambdas by ARN, any version or alias of them (CDK grants both forms).',
  );
  // CDK's Distributed Map policy: the state machine starts, describes and stops its own child
  // executions, whose ARNs are known only as <state machine>:*. Each of its wildcards, and nothing else.
  const distributedMapPolicy = stateMachine.node.tryFindChild('DistributedMapPolicy') as
    iam.Policy | undefined;
  if (distributedMapPolicy) {
    const document = Stack.of(stateMachine).resolve(distributedMapPolicy.document) as {
      Statement?: { Resource?: unknown }[];
    };
    for (const statement of document.Statement ?? []) {
      const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
      for (const resource of resources.map(flattenReference).filter((r) => r.includes('*'))) {
        Validations.of(distributedMapPolicy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${resource}]`,
          reason: 'The state machine manages its own Distributed Map child executions (<state machine>:*).',
        });
      }
    }
  }
}

/** The mirrors' dead-letter queue is one; cdk-nag only recognizes queues used by other queues. */
export function acknowledgeDeadLetterQueue(queue: sqs.IQueue, of: string): void {
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      `This queue is the dead-letter queue of ${of} (DeadLetterConfig), ` +
      'which cdk-nag does not recognize; a dead-letter queue needs no dead-letter queue of its own.',
  });
}

/**
 * A resolved CloudFormation value as cdk-nag names it in findings: Fn::Join flattened, `{ Ref: X }` as
 * `<X>`, `{ Fn::GetAtt: [R, A] }` as `<R.A>`, anything else as JSON.
 */
export function flattenReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\${/g, '<').replace(/}/g, '>');
  const value = node as Record<string, unknown>;
  if (value['Fn::Join']) {
    const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
    return items.map(flattenReference).join(delimiter);
  }
  if (value['Fn::Sub']) return flattenReference(value['Fn::Sub']);
  if (value['Fn::GetAtt']) {
    const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
  }
  if (value['Fn::ImportValue']) return flattenReference(value['Fn::ImportValue']);
  if (value.Ref) return `<${flattenReference(value.Ref)}>`;
  return JSON.stringify(node);
}
