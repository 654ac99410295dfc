import { invalidInput } from '../../shared/errors';

/** The wrapper the state machine sends Plan. */
export interface PlanHandlerInput {
  Event: unknown;
  Execution?: { Name?: string };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Splits Plan's input into the event and the execution name, if the state machine sent one: either
 * `{ "Event": <the transfer event>, "Execution": { "Name": <$$.Execution.Name> } }`, or the event itself.
 */
export function unwrapPlanInput(input: unknown): { event: unknown; executionName?: string } {
  if (!isRecord(input) || !('Event' in input) || 'CredentialsEndpoint' in input) return { event: input };
  const extra = Object.keys(input).filter((k) => k !== 'Event' && k !== 'Execution');
  if (extra.length > 0) {
    throw invalidInput(
      `Plan input: unknown field ${extra.map((k) => JSON.stringify(k.slice(0, 24))).join(', ')}`,
    );
  }
  const execution = input.Execution;
  if (execution === undefined) return { event: input.Event };
  // Only Name is used; other fields of Execution are ignored.
  if (!isRecord(execution) || (execution.Name !== undefined && typeof execution.Name !== 'string')) {
    throw invalidInput('Execution: expected an object with a string Name');
  }
  return { event: input.Event, executionName: execution.Name as string | undefined };
}
