/**
 * The pipeline's custom CloudWatch metrics, written as Embedded Metric Format (EMF) log lines by
 * Powertools Metrics. The names, units and the `service` dimension here are what the dashboard and the
 * alarms in infra/monitoring.ts read: change them together.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { CopyBatchInput, CopyBatchOutput } from './contracts';

/** Namespace when `POWERTOOLS_METRICS_NAMESPACE` is not set (the stack sets it on the Lambdas). */
export const METRICS_NAMESPACE = 'S3DirectTransfer';

/** Value of the `service` dimension of each Lambda's metrics. */
export const MetricsService = {
  Plan: 'plan',
  Copy: 'copy',
} as const;

export const MetricName = {
  /** Plan: objects in the manifest. */
  ObjectsPlanned: 'ObjectsPlanned',
  /** Plan: bytes of the objects in the manifest, as listed. */
  BytesPlanned: 'BytesPlanned',
  /** CopyBatch: bytes of the objects it copied (skipped and failed objects count nothing). */
  BytesCopied: 'BytesCopied',
  ObjectsCopied: 'ObjectsCopied',
  /** Objects Sync found already at the destination. */
  ObjectsSkipped: 'ObjectsSkipped',
  ObjectsFailed: 'ObjectsFailed',
  /** Times cached TEA credentials were replaced by new ones during an invocation. */
  CredentialRefreshes: 'CredentialRefreshes',
} as const;

/**
 * A Powertools Metrics instance for one Lambda: namespace from `POWERTOOLS_METRICS_NAMESPACE` (else
 * {@link METRICS_NAMESPACE}), dimension `service`. Create it once per container.
 */
export function createMetrics(service: string, options: { namespace?: string } = {}): Metrics {
  return new Metrics({
    namespace: options.namespace ?? (process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE),
    serviceName: service,
  });
}

/** What Plan put in the manifest. */
export interface PlanCounts {
  readonly objects: number;
  readonly bytes: number;
}

/** Emits ObjectsPlanned and BytesPlanned, now. */
export function recordPlan(metrics: Metrics, counts: PlanCounts): void {
  metrics.addMetric(MetricName.ObjectsPlanned, MetricUnit.Count, counts.objects);
  metrics.addMetric(MetricName.BytesPlanned, MetricUnit.Bytes, counts.bytes);
  metrics.publishStoredMetrics();
}

/** What one CopyBatch invocation did. */
export interface CopyBatchCounts {
  readonly bytesCopied: number;
  readonly copied: number;
  readonly skipped: number;
  readonly failed: number;
  readonly credentialRefreshes: number;
}

/** Emits BytesCopied, ObjectsCopied, ObjectsSkipped, ObjectsFailed and CredentialRefreshes, now. */
export function recordCopyBatch(metrics: Metrics, counts: CopyBatchCounts): void {
  metrics.addMetric(MetricName.BytesCopied, MetricUnit.Bytes, counts.bytesCopied);
  metrics.addMetric(MetricName.ObjectsCopied, MetricUnit.Count, counts.copied);
  metrics.addMetric(MetricName.ObjectsSkipped, MetricUnit.Count, counts.skipped);
  metrics.addMetric(MetricName.ObjectsFailed, MetricUnit.Count, counts.failed);
  metrics.addMetric(MetricName.CredentialRefreshes, MetricUnit.Count, counts.credentialRefreshes);
  metrics.publishStoredMetrics();
}

/**
 * Counts the results this invocation produced. The DEFERRED loop carries earlier rounds' results in
 * `input.Results` and CopyBatch returns them again: those were counted by the invocation that made them.
 */
export function copyBatchCounts(
  input: Pick<CopyBatchInput, 'Results'>,
  output: Pick<CopyBatchOutput, 'Results'>,
): Omit<CopyBatchCounts, 'credentialRefreshes'> {
  const counts = { bytesCopied: 0, copied: 0, skipped: 0, failed: 0 };
  for (const result of output.Results.slice(input.Results?.length ?? 0)) {
    if (result.Status === 'COPIED') {
      counts.copied++;
      counts.bytesCopied += result.Bytes;
    } else if (result.Status === 'SKIPPED') counts.skipped++;
    else counts.failed++;
  }
  return counts;
}
