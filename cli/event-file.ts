import { readFile } from 'node:fs/promises';
import { ErrorName } from '../shared/errors';
import { parseAnyEvent } from '../shared/event';
import { parseJsonText } from '../shared/json-text';
import { registerSecret } from '../shared/log';
import { CommandError } from './command-error';
import { ExitCode } from './exit-codes';

/**
 * Reads and validates an event file ('-' for standard input), as `run` does, without loading the local
 * host: exit 2 with `InvalidInput: ...` when it is unusable. Tokens are registered for redaction first.
 * @returns the event as written (the state machine validates it again).
 */
export async function readEventFile(
  path: string,
  stdin: AsyncIterable<unknown> = process.stdin,
): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = path === '-' ? await readAll(stdin) : await readFile(path, 'utf8');
  } catch (error) {
    throw invalid(`cannot read the event file ${path}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseJsonText(text);
  } catch (error) {
    throw invalid(`the event file ${path} is ${(error as Error).message}`);
  }
  for (const field of ['BearerToken', 'JwtCookie'] as const) {
    const value = (raw as Record<string, unknown> | null)?.[field];
    if (typeof value === 'string') registerSecret(value);
  }
  try {
    parseAnyEvent(raw);
  } catch (error) {
    throw new CommandError((error as Error).name, (error as Error).message, ExitCode.CallerError);
  }
  return raw as Record<string, unknown>;
}

async function readAll(stream: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

function invalid(message: string): CommandError {
  return new CommandError(ErrorName.InvalidInput, message, ExitCode.CallerError);
}
