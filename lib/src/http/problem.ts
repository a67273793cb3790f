import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isTransient, type ErrorCode } from '../errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const TYPE_BASE = 'https://errors.shop.local/';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  correlationId?: string;
  errors?: { field: string; message: string }[];
  [extra: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const problemType = (code: string) => `${TYPE_BASE}${code}`;

export function sendProblem(
  reply: FastifyReply,
  request: FastifyRequest,
  status: number,
  code: ErrorCode,
  detail?: string,
  extra: Record<string, unknown> = {},
) {
  const body: Problem = {
    type: problemType(code),
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    instance: request.url,
    correlationId: String(request.id),
    ...extra,
  };
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(body);
}

// Fastify's own codes for what a client got wrong before any handler ran.
const FASTIFY_CLIENT_ERRORS: Record<string, { status: number; code: ErrorCode }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'malformed_json' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'malformed_json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'bad_request' },
};

export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.validation) {
    const errors = error.validation.map((v) => ({
      field: `${error.validationContext ?? 'body'}${v.instancePath || ''}${
        (v.params as { missingProperty?: string; additionalProperty?: string })?.missingProperty
          ? `/${(v.params as { missingProperty: string }).missingProperty}`
          : (v.params as { additionalProperty?: string })?.additionalProperty
            ? `/${(v.params as { additionalProperty: string }).additionalProperty}`
            : ''
      }`,
      message: v.message ?? 'is invalid',
    }));
    return sendProblem(reply, request, 400, 'validation', 'the request does not match the schema', { errors });
  }
  if (error instanceof AppError) {
    // A retryable 5xx (overload, a dependency briefly away) is the system working as designed: warn, not error.
    if (error.status >= 500) request.log[error.canRetry ? 'warn' : 'error']({ err: error }, 'request failed');
    return sendProblem(reply, request, error.status, error.code, error.message, error.details ?? {});
  }
  const known = error.code ? FASTIFY_CLIENT_ERRORS[error.code] : undefined;
  if (known) return sendProblem(reply, request, known.status, known.code, error.message);
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return sendProblem(reply, request, error.statusCode, 'bad_request', error.message);
  }
  // Overload or a dependency blip (pool exhausted, connection lost): the client may retry.
  if (isTransient(error)) {
    request.log.warn({ err: error.message }, 'transient failure; answered 503');
    reply.header('retry-after', '1');
    return sendProblem(
      reply,
      request,
      503,
      'temporarily_unavailable',
      'the service is briefly unable to handle this request; retry after the Retry-After delay',
    );
  }
  // Never leak a stack, SQL or driver text: the correlation id in the body finds the log line.
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(reply, request, 500, 'internal', 'an unexpected error occurred; quote the correlationId when reporting it');
}
