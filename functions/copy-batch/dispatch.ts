/**
 * The copy function's three jobs, told apart by their input: a unit of the manifest (CopyBatch), and the
 * steps around the Map for giant objects (`Action`: PrepareGiants, CompleteGiants). The Lambda handler
 * and the one-machine runner both come through here.
 */
import type { CopyBatchInput, CopyBatchOutput } from '../../shared/contracts';
import { invalidInput } from '../../shared/errors';
import { checkBatchInput } from './batch-input';
import { copyBatch, type CopyBatchDeps } from './copy-batch';
import { completeGiants } from './complete-giants';
import type { CompleteGiantsInput, GiantsDeps, GiantsStepOutput, PrepareGiantsInput } from './giants';
import { prepareGiants } from './prepare-giants';

export type CopyFunctionInput = CopyBatchInput | PrepareGiantsInput | CompleteGiantsInput;

export type CopyFunctionDeps = CopyBatchDeps & { giants: () => GiantsDeps };

export function giantsAction(input: unknown): 'PrepareGiants' | 'CompleteGiants' | undefined {
  if (typeof input !== 'object' || input === null || !('Action' in input)) return undefined;
  const action = (input as { Action: unknown }).Action;
  if (action === 'PrepareGiants' || action === 'CompleteGiants') return action;
  throw invalidInput('copy function input: Action must be PrepareGiants or CompleteGiants');
}

export async function runCopyFunction(
  input: CopyFunctionInput,
  deps: CopyFunctionDeps,
): Promise<CopyBatchOutput | GiantsStepOutput> {
  const action = giantsAction(input);
  if (action === undefined) return copyBatch(input as CopyBatchInput, deps);
  const step = input as PrepareGiantsInput | CompleteGiantsInput;
  checkBatchInput(step.BatchInput, deps);
  return action === 'PrepareGiants'
    ? prepareGiants(step as PrepareGiantsInput, deps.giants())
    : completeGiants(step as CompleteGiantsInput, deps.giants());
}
