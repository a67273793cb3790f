// One base error for the whole system. `status` maps it to HTTP; `canRetry` tells retry code
// whether trying again may help, so no caller ever parses an error message.

/**
 * Every code an error of ours can carry, the closed list clients and operators see (the
 * problem+json `type`, the `dlq-error-code` header), each with whether trying again can help.
 */
export const ERROR_CODES = {
  // the request
  validation: { canRetry: false },
  invalid: { canRetry: false },
  bad_request: { canRetry: false },
  malformed_json: { canRetry: false },
  unsupported_media_type: { canRetry: false },
  payload_too_large: { canRetry: false },
  not_found: { canRetry: false },
  unauthorized: { canRetry: false },
  forbidden: { canRetry: false },
  rate_limited: { canRetry: true },
  overloaded: { canRetry: true },
  precondition_failed: { canRetry: false },
  precondition_required: { canRetry: false },
  idempotency_key_missing: { canRetry: false },
  idempotency_key_invalid: { canRetry: false },
  idempotency_key_reused: { canRetry: false },
  idempotency_request_in_flight: { canRetry: true },
  idempotency_store_unavailable: { canRetry: true },
  // the domain
  order_not_cancellable: { canRetry: false },
  below_reserved: { canRetry: false },
  above_maximum: { canRetry: false },
  // the machinery
  lost_race: { canRetry: true },
  database_busy: { canRetry: true },
  provider_unavailable: { canRetry: true },
  temporarily_unavailable: { canRetry: true },
  poison_message: { canRetry: false },
  not_replayable: { canRetry: false },
  slot_unusable: { canRetry: false },
  outbox_outside_transaction: { canRetry: false },
  internal: { canRetry: false },
} as const satisfies Record<string, { canRetry: boolean }>;
export type ErrorCode = keyof typeof ERROR_CODES;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly canRetry: boolean;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: { status?: number; canRetry?: boolean; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = opts.status ?? 500;
    this.canRetry = opts.canRetry ?? ERROR_CODES[code].canRetry;
    this.details = opts.details;
  }
}

export const notFound = (what: string) => new AppError('not_found', `${what} not found`, { status: 404 });
export const conflict = (code: ErrorCode, message: string, details?: Record<string, unknown>) => new AppError(code, message, { status: 409, details });
export const invalid = (message: string, details?: Record<string, unknown>) => new AppError('invalid', message, { status: 400, details });

/**
 * Postgres / driver failures that a retry can fix: lost connections, serialization and lock
 * failures, and a database that refuses writes for a while (25006: read-only, as during a
 * failover or with default_transaction_read_only; 53100: disk full; 53200: out of memory).
 */
const TRANSIENT_SQLSTATES = new Set([
  '40001',
  '40P01',
  '55P03',
  '57P01',
  '57P02',
  '57P03',
  '53100',
  '53200',
  '53300',
  '25006',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
]);
const TRANSIENT_NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);
// Prisma's own codes for an unreachable/closed database, a transaction conflict or deadlock,
// and a transaction that died with its connection.
const TRANSIENT_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2034']);
// Driver-adapter error kinds that mean the connection, not the statement, failed.
const TRANSIENT_ADAPTER_KINDS = new Set([
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'DatabaseNotReachable',
  'TransactionWriteConflict',
  'TransactionAlreadyClosed',
]);

const PG_UNCODED_CONNECTION_LOSS = ['Connection terminated', 'Client has encountered a connection error and is not queryable'];

/** The Postgres SQLSTATE or adapter kind inside a Prisma error (meta.driverAdapterError.cause). */
function adapterCause(error: unknown): { code?: string; originalCode?: string; kind?: string } | undefined {
  return (error as { meta?: { driverAdapterError?: { cause?: { code?: string; originalCode?: string; kind?: string } } } }).meta?.driverAdapterError?.cause;
}

export function isTransient(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof AppError) return e.canRetry;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NODE_CODES.has(code) || TRANSIENT_PRISMA_CODES.has(code))) return true;
    const cause = adapterCause(e);
    if (
      cause &&
      (TRANSIENT_SQLSTATES.has(cause.originalCode ?? '') || TRANSIENT_SQLSTATES.has(cause.code ?? '') || TRANSIENT_ADAPTER_KINDS.has(cause.kind ?? ''))
    )
      return true;
    // The only failures with neither a code nor a class of their own: pg raises a plain Error
    // when the socket under a client ends (these are its texts, pg 8). Everything Postgres says
    // carries a SQLSTATE, everything Prisma says a P-code or an adapter kind (above).
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && PG_UNCODED_CONNECTION_LOSS.some((text) => message.startsWith(text))) return true;
  }
  return false;
}
