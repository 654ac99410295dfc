import { JsonSyntaxError, parseJsonText } from '../../shared/json-text';

const SECRET = 'EDL-secret-token-value-0123456789';

describe('parseJsonText', () => {
  it('parses valid JSON', () => {
    expect(parseJsonText('{"a": [1, "b"]}')).toEqual({ a: [1, 'b'] });
  });

  it.each([
    ['a missing comma', `{"BearerToken": "${SECRET}"\n "Source": {}}`, 2],
    ['a truncated file', `{"BearerToken": "${SECRET}",`, 1],
    ['a stray character', `{\n  "BearerToken": ${SECRET}\n}`, 2],
    ['a trailing comma', `{"BearerToken": "${SECRET}",}`, 1],
  ])('says where %s is and never quotes the text', (_what, text, line) => {
    let error: unknown;
    try {
      parseJsonText(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(JsonSyntaxError);
    const message = (error as Error).message;
    expect(message).toMatch(/^not valid JSON( \(line \d+, column \d+\))?$/);
    if ((error as JsonSyntaxError).line !== undefined) expect((error as JsonSyntaxError).line).toBe(line);
    expect(message).not.toContain(SECRET.slice(0, 10));
    expect(JSON.stringify(error)).not.toContain(SECRET.slice(0, 10));
  });
});
