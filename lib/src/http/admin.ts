import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';

/** The admin token from ADMIN_TOKEN; local runs get a documented default, production must set one. */
export function readAdminToken(env: NodeJS.ProcessEnv = process.env): string {
  const token = env.ADMIN_TOKEN;
  if (token) return token;
  if (env.NODE_ENV === 'production') throw new Error('ADMIN_TOKEN must be set when NODE_ENV=production');
  return 'dev-admin-token';
}

/** preHandler for admin-only routes: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. */
export function requireAdmin(token: string) {
  const expected = Buffer.from(token);
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const header = request.headers.authorization;
    if (!header) throw new AppError('unauthorized', 'this route needs Authorization: Bearer <admin token>', { status: 401 });
    const match = /^Bearer (.+)$/.exec(header);
    const given = Buffer.from(match?.[1] ?? '');
    const same = given.length === expected.length && timingSafeEqual(given, expected);
    if (!same) throw new AppError('forbidden', 'the admin token is not valid', { status: 403 });
  };
}
