import { DeleteParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { errorCode } from '../../shared/aws/sdk-errors';
import { EXECUTION_END_STATUSES } from '../../shared/contracts';
import { executionTokenParameter, isValidRunId, stagedTokenKey } from '../../shared/run-files';
import type { StagingStore } from '../../shared/staging';

/** The part of an EventBridge "Step Functions Execution Status Change" event the cleanup reads. */
export interface ExecutionStatusChange {
  'detail-type'?: string;
  detail?: { executionArn?: string; stateMachineArn?: string; name?: string; status?: string };
}

export interface CleanupDependencies {
  readonly staging: StagingStore;
  readonly ssm: SSMClient;
  /** Where `start` stores inline tokens (`<path>executions/<execution name>`). */
  readonly tokenParameterPath: string;
  /** Only this state machine's executions are cleaned up. */
  readonly stateMachineArn: string;
}

export interface CleanupResult {
  readonly run: string;
  readonly status: string;
  readonly stagedToken: 'deleted';
  readonly parameter: 'deleted' | 'absent';
}

/**
 * Deletes what held an execution's token once the execution has ended, whichever way: its staged token
 * and the SSM parameter `start` created for it. Both deletions are idempotent, so a redelivered event,
 * or Summarize having deleted the staged token already, changes nothing.
 * @throws Error for an event that is not the end of one of this state machine's executions.
 */
export async function cleanUpRun(
  event: ExecutionStatusChange,
  deps: CleanupDependencies,
): Promise<CleanupResult> {
  const detail = event.detail ?? {};
  if (detail.stateMachineArn !== deps.stateMachineArn) {
    throw new Error('the event is not about this pipeline’s state machine');
  }
  const status = detail.status ?? '';
  if (!(EXECUTION_END_STATUSES as readonly string[]).includes(status)) {
    throw new Error(`the execution has not ended (status ${status || 'missing'})`);
  }
  const run = detail.name ?? '';
  if (!isValidRunId(run)) throw new Error('the event names no valid execution');
  await deps.staging.delete(stagedTokenKey(run));
  let parameter: CleanupResult['parameter'] = 'deleted';
  try {
    await deps.ssm.send(
      new DeleteParameterCommand({ Name: executionTokenParameter(deps.tokenParameterPath, run) }),
    );
  } catch (error) {
    if (errorCode(error) !== 'ParameterNotFound') throw error;
    parameter = 'absent';
  }
  return { run, status, stagedToken: 'deleted', parameter };
}
