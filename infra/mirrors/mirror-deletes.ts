/**
 * What a mirror's event options mean at synth: the mirror's own default (`Options.Sync` true), and the
 * stack's consent before a mirror may delete destination objects.
 */

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The event as the schedule sends it: `Options.Sync` true unless the mirror says otherwise. */
export function withMirrorDefaults(event: Record<string, unknown>): Record<string, unknown> {
  if (event.Options !== undefined && !isRecord(event.Options)) return event; // the event check names it
  const options = event.Options ?? {};
  return { ...event, Options: { ...options, Sync: options.Sync ?? true } };
}

/** Why the mirror may not delete in this deployment, or undefined. */
export function mirrorDeletesProblem(
  event: Record<string, unknown>,
  allowMirrorDeletes: boolean,
): string | undefined {
  const options = event.Options;
  if (allowMirrorDeletes || !isRecord(options) || options.Delete !== true) return undefined;
  return (
    'event.Options.Delete: this deployment does not let mirrors delete: deploy with ' +
    '-c allowMirrorDeletes=true, which gives the copy role s3:DeleteObject on the destination buckets ' +
    '(Options.MaxDeletes still caps each run)'
  );
}
