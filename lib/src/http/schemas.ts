// Schema pieces every service shares: ids, problem responses, limits.
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';

export const Uuid = Type.String({ format: 'uuid', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });
export const Sku = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$', description: 'letters, digits, _ and -, 1–64 characters' });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    correlationId: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true },
);

/** Standard problem responses for a route, plus its success responses. */
export function responses(ok: Record<number, TSchema>, problems: number[] = [400, 404]): Record<number, TSchema> {
  return { ...ok, ...Object.fromEntries(problems.map((s) => [s, Problem])) };
}

/**
 * preValidation for a route that takes no body: one that comes anyway is refused like any
 * other bad body (400, field `body`), not silently ignored. Fastify cannot express "no body" in
 * a body schema: a schema there makes the body required.
 */
export async function noBody(request: FastifyRequest): Promise<void> {
  if (request.body !== undefined) {
    throw new AppError('validation', 'the request does not match the schema', {
      status: 400,
      details: { errors: [{ field: 'body', message: 'this route takes no body' }] },
    });
  }
}
