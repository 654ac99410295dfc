/** Reading a Lambda's environment: every variable a handler needs, with a clear error when it is wrong. */

/** A variable the stack always sets; its absence is a deployment error. */
export function requiredEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** A positive integer, or undefined when unset or empty. */
export function positiveIntEnv(name: string, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

/** A comma-separated list, blanks dropped; undefined when it has no entry. */
export function listEnv(name: string, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const entries = (env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return entries.length > 0 ? entries : undefined;
}
