/**
 * The cleanup Lambda, invoked by an EventBridge rule on every execution of the pipeline that ends
 * (succeeded, failed, timed out or aborted): deletes the execution's staged token and the SSM parameter
 * `start` stored its token in. Environment: see ./wiring.ts.
 */
import { createLogger } from '../../shared/log';
import { cleanUpRun, type CleanupResult, type ExecutionStatusChange } from './cleanup';
import { cleanupClients, cleanupDependencies, type CleanupClients } from './wiring';

const logger = createLogger('cleanup');
// Per container: built on first use, reused by warm invocations.
let clients: CleanupClients | undefined;

export async function handler(event: ExecutionStatusChange): Promise<CleanupResult> {
  clients ??= cleanupClients();
  const result = await cleanUpRun(event, cleanupDependencies(clients));
  logger.info('cleaned up', { ...result });
  return result;
}
