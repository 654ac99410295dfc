/**
 * Builds Summarize's dependencies, for the Lambda handler and the one-machine runner alike.
 */
import type { StagingStore } from '../../shared/staging';
import type { EstimateSettings } from './estimate';
import type { SummarizeDependencies } from './summarize';

export function summarizeDependencies(
  staging: StagingStore,
  estimate?: EstimateSettings,
): SummarizeDependencies {
  return { staging, estimate };
}
