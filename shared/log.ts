import { Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions, LogLevel } from '@aws-lambda-powertools/logger/types';

/** What every redacted value is replaced with. */
export const MASK = '****';

/** Shorter values are not registered: masking them would garble ordinary log text. */
const MIN_SECRET_LENGTH = 8;

const secrets = new Set<string>();
let secretsPattern: RegExp | undefined;

/**
 * Registers a value that must never appear in a log line or an error message, for the life of the
 * process (tokens, cookies, secret keys, session tokens). Values shorter than 8 characters are ignored.
 */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || secrets.has(value)) return;
  secrets.add(value);
  secretsPattern = undefined;
}

/** Forgets every registered secret. For tests. */
export function clearSecrets(): void {
  secrets.clear();
  secretsPattern = undefined;
}

function registeredSecretsPattern(): RegExp | undefined {
  if (secrets.size === 0) return undefined;
  if (!secretsPattern) {
    // Longest first, so that a secret containing another one is masked whole.
    const alternatives = [...secrets]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    secretsPattern = new RegExp(alternatives.join('|'), 'g');
  }
  return secretsPattern;
}

const TEXT_PATTERNS: ReadonlyArray<[RegExp, string | ((match: string) => string)]> = [
  // "Authorization: <anything>" up to the end of the line or a quote.
  [/(authorization["']?\s*[:=]\s*["']?)[^"'\r\n]+/gi, `$1${MASK}`],
  [/\b(bearer)\s+[^\s"',;]{8,}/gi, `$1 ${MASK}`],
  [/\b(asf-urs)=[^\s"',;]+/gi, `$1=${MASK}`],
  // JWTs (a base64url JSON header starts with "eyJ").
  [/\beyJ[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*){0,2}/g, MASK],
  // STS session tokens start with a base64 protobuf-ish prefix; long base64 runs are tokens too.
  [/(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9/+=]*/g, MASK],
  [/[A-Za-z0-9/+=]{200,}/g, MASK],
  // AWS secret access keys: exactly 40 base64 characters, mixed case (so hex digests are kept).
  [
    /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g,
    (m) => (/[A-Z]/.test(m) && /[a-z]/.test(m) ? MASK : m),
  ],
];

/** Masks registered secrets and anything that looks like a token, a secret key or an auth header. */
export function redactText(text: string): string {
  let out = text;
  const registered = registeredSecretsPattern();
  if (registered) out = out.replace(registered, MASK);
  for (const [pattern, replacement] of TEXT_PATTERNS) {
    out =
      typeof replacement === 'string' ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
  }
  return out;
}

const SENSITIVE_KEY_SUFFIXES = ['token', 'secret', 'password', 'cookie', 'secretaccesskey', 'authorization'];
// Pagination tokens are not secrets, and hiding them makes listing problems undebuggable.
const NOT_SENSITIVE_KEYS = new Set([
  'continuationtoken',
  'nextcontinuationtoken',
  'nexttoken',
  'startaftertoken',
]);

/** True for field names whose values are secrets (token, sessionToken, BearerToken, JwtCookie, ...). */
export function isSensitiveKey(key: string): boolean {
  const normalized = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (NOT_SENSITIVE_KEYS.has(normalized)) return false;
  return SENSITIVE_KEY_SUFFIXES.some((suffix) => normalized.endsWith(suffix));
}

/** JSON.stringify replacer: masks sensitive fields at any depth and redacts every string. */
export function redactingReplacer(key: string, value: unknown): unknown {
  if (key !== '' && isSensitiveKey(key) && value !== undefined && value !== null && value !== '') {
    return MASK;
  }
  return typeof value === 'string' ? redactText(value) : value;
}

/** Returns a deep copy of `value` with sensitive fields masked and strings redacted. */
export function redactValue<T>(value: T): unknown {
  const text = JSON.stringify(value, redactingReplacer);
  return text === undefined ? undefined : JSON.parse(text);
}

/**
 * Where log lines go. `auto`: like Powertools (warn and above on stderr, the rest on stdout), which is
 * what Lambda expects. `stderr`: everything on stderr, for a CLI whose stdout carries its result.
 */
export type LogStream = 'auto' | 'stderr';

export interface LoggerOptions {
  /** @default the POWERTOOLS_LOG_LEVEL / LOG_LEVEL environment variables, else INFO */
  readonly logLevel?: LogLevel;
  /** @default 'auto' */
  readonly stream?: LogStream;
  /** Keys added to every line (execution name, object key, ...). */
  readonly persistentKeys?: ConstructorOptions['persistentKeys'];
}

let processStream: LogStream | undefined;

/** Sends every logger's lines to stderr (a CLI, whose stdout carries its result). */
export function setProcessLogStream(stream: LogStream | undefined): void {
  processStream = stream;
}

// Powertools' threshold for WARN (LogLevelThreshold.WARN).
const WARN_THRESHOLD = 16;

/** A Powertools Logger whose every line passes through {@link redactText} on its way out. */
class RedactingLogger extends Logger {
  private readonly stream: LogStream;

  constructor(options: ConstructorOptions, stream: LogStream) {
    super({ ...options, jsonReplacerFn: redactingReplacer });
    this.stream = stream;
  }

  protected override createLogger(options?: ConstructorOptions): Logger {
    return new RedactingLogger(options ?? {}, this.stream);
  }

  protected override printLog(logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    const line = redactText(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
    // `stream` is unset while the base constructor flushes its own early warnings.
    const stream =
      processStream ?? (process.env.S3_DIRECT_TRANSFER_LOG_STREAM as LogStream | undefined) ?? this.stream;
    const toStderr = stream === 'stderr' || logLevel >= WARN_THRESHOLD;
    (toStderr ? process.stderr : process.stdout).write(`${line}\n`);
  }
}

/**
 * A structured JSON logger (Powertools) that masks registered secrets, token-like text and sensitive
 * fields in every line it writes.
 */
export function createLogger(serviceName: string, options: LoggerOptions = {}): Logger {
  return new RedactingLogger(
    { serviceName, logLevel: options.logLevel, persistentKeys: options.persistentKeys },
    options.stream ?? 'auto',
  );
}
