/**
 * What an execution would be billed for on AWS, counted by the one-machine host: state transitions (Step
 * Functions Standard workflows), child executions of Distributed Maps, and Lambda invocations and their
 * duration.
 */
import type { InvocationRecorder } from './lambda';

/** Usage of one execution and of all the child executions its Distributed Maps started. */
export interface ExecutionUsage {
  /** State transitions as Step Functions bills them (see {@link UsageCounter.countEvent}). */
  readonly transitions: number;
  /** Child workflow executions started by Distributed Map states. */
  readonly childExecutions: number;
  /** Lambda invocations, by unqualified function ARN (every retry is an invocation). */
  readonly invocations: Record<string, number>;
  /**
   * Lambda duration in ms, by unqualified function ARN: each invocation from its start until it returned
   * or threw, rounded up to the ms as Lambda bills it; a killed one counts its whole timeout. An invocation
   * still running when the execution ends (abandoned by an abort or a Task's TimeoutSeconds) is not counted.
   */
  readonly lambdaMs: Record<string, number>;
}

/** The execution event fields the count reads (aws-local-stepfunctions' `eventLogs`). */
interface CountedEvent {
  readonly type: string;
}

/** Counts one execution's usage, its child executions' included; shared by all of them. */
export class UsageCounter implements InvocationRecorder {
  private transitions = 0;
  private childExecutions = 0;
  private readonly invocations: Record<string, number> = {};
  private readonly lambdaMs: Record<string, number> = {};

  /**
   * Step Functions bills a Standard workflow "a state transition each time a step of the workflow is
   * executed", and each retry as one more. In aws-local-stepfunctions' event log that is:
   * - one per `StateEntered`: the library emits it each time the execution enters a state, whatever its
   *   type (Pass, Choice, Succeed and Fail included; a Task entered again by a loop counts again), and
   *   forwards into its parent's log those of the iterations of an inline Map and of the branches of a
   *   Parallel state, so they are counted in the execution that runs them;
   * - one more per `StateRetried`: the library emits it for each attempt a Retry makes after a failure
   *   (the state is not entered again, so its StateEntered is not repeated).
   * Nothing else counts: not the execution's start or end, not StateExited, StateFailed or StateCaught (a
   * Catch's transition is the next state's StateEntered). A Distributed Map state stands in its parent's
   * log as one state entered, and each child execution it starts has its own log, counted alike.
   */
  countEvent(event: CountedEvent): void {
    if (event.type === 'StateEntered' || event.type === 'StateRetried') this.transitions++;
  }

  childStarted(): void {
    this.childExecutions++;
  }

  invoked(arn: string): void {
    this.invocations[arn] = (this.invocations[arn] ?? 0) + 1;
  }

  billed(arn: string, durationMs: number): void {
    this.lambdaMs[arn] = (this.lambdaMs[arn] ?? 0) + durationMs;
  }

  snapshot(): ExecutionUsage {
    return {
      transitions: this.transitions,
      childExecutions: this.childExecutions,
      invocations: { ...this.invocations },
      lambdaMs: { ...this.lambdaMs },
    };
  }
}
