/**
 * Parsing JSON a person wrote, which may hold a token: JSON.parse's own messages quote the text around
 * a syntax error, so a failure here says where it is, never what is there.
 */

/** Thrown by {@link parseJsonText}; its message names a line and column, nothing of the text. */
export class JsonSyntaxError extends Error {
  constructor(
    readonly line?: number,
    readonly column?: number,
  ) {
    super(line === undefined ? 'not valid JSON' : `not valid JSON (line ${line}, column ${column})`);
    this.name = 'JsonSyntaxError';
  }
}

function location(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return { line, column: position - before.lastIndexOf('\n') };
}

export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    const position = /at position (\d+)/.exec(message)?.[1];
    if (position !== undefined) {
      const { line, column } = location(text, Number(position));
      throw new JsonSyntaxError(line, column);
    }
    if (/end of (JSON )?input/i.test(message)) {
      const { line, column } = location(text, text.length);
      throw new JsonSyntaxError(line, column);
    }
    throw new JsonSyntaxError();
  }
}
