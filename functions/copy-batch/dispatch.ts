/**
 * The copy function's jobs, told apart by their input: a unit of the manifest (CopyBatch), the steps
 * around the Map for giant objects (`Action`: PrepareGiants, CompleteGiants), and a mirror's deletions
 * after it (`Action`: DeleteMirrored). The Lambda handler and the one-machine runner both come through
 * here.
 */
import type { CopyBatchInput, CopyBatchOutput } from '../../shared/contracts';
import { invalidInput } from '../../shared/errors';
import { checkBatchInput } from './batch-input';
import { copyBatch, type CopyBatchDeps } from './copy-batch';
import { completeGiants } from './complete-giants';
import type { CompleteGiantsInput, GiantsDeps, GiantsStepOutput, PrepareGiantsInput } from './giants';
import { prepareGiants } from './prepare-giants';
import { deleteMirrored, type DeleteMirroredInput, type DeleteMirroredOutput } from './delete-mirrored';

export type CopyFunctionInput =
  CopyBatchInput | PrepareGiantsInput | CompleteGiantsInput | DeleteMirroredInput;

export type CopyFunctionAction = 'PrepareGiants' | 'CompleteGiants' | 'DeleteMirrored';

export type CopyFunctionDeps = CopyBatchDeps & { giants: () => GiantsDeps };

/** The step an input names (`Action`), or undefined for a unit of the manifest. */
export function stepAction(input: unknown): CopyFunctionAction | undefined {
  if (typeof input !== 'object' || input === null || !('Action' in input)) return undefined;
  const action = (input as { Action: unknown }).Action;
  if (action === 'PrepareGiants' || action === 'CompleteGiants' || action === 'DeleteMirrored') return action;
  throw invalidInput('copy function input: Action must be PrepareGiants, CompleteGiants or DeleteMirrored');
}

export async function runCopyFunction(
  input: CopyFunctionInput,
  deps: CopyFunctionDeps,
): Promise<CopyBatchOutput | GiantsStepOutput | DeleteMirroredOutput> {
  const action = stepAction(input);
  if (action === undefined) return copyBatch(input as CopyBatchInput, deps);
  if (action === 'DeleteMirrored') {
    const run = (input as DeleteMirroredInput).Run;
    checkBatchInput(run?.Plan?.BatchInput, deps);
    const { staging, destination, allowedDestinations } = deps.giants();
    return deleteMirrored(input as DeleteMirroredInput, { staging, destination, allowedDestinations });
  }
  const step = input as PrepareGiantsInput | CompleteGiantsInput;
  checkBatchInput(step.BatchInput, deps);
  return action === 'PrepareGiants'
    ? prepareGiants(step as PrepareGiantsInput, deps.giants())
    : completeGiants(step as CompleteGiantsInput, deps.giants());
}
