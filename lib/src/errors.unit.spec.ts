import { describe, expect, it } from 'vitest';
import { AppError, isTransient } from './errors.ts';

const prismaError = (code: string, cause: Record<string, string>) =>
  Object.assign(new Error('Database error'), { code, meta: { driverAdapterError: { name: 'DriverAdapterError', cause } } });

describe('isTransient', () => {
  it.each([
    ['a server that is starting up (57P03, wrapped by Prisma)', prismaError('P2010', { originalCode: '57P03', kind: 'postgres', code: '57P03' })],
    ['a terminated connection (57P01)', prismaError('P2010', { originalCode: '57P01', kind: 'postgres', code: '57P01' })],
    ['a serialization failure', prismaError('P2010', { originalCode: '40001', kind: 'postgres', code: '40001' })],
    ['a closed connection kind', prismaError('P2010', { kind: 'ConnectionClosed' })],
    ['a transaction conflict (P2034)', Object.assign(new Error('x'), { code: 'P2034' })],
    ['a reset socket', Object.assign(new Error('x'), { code: 'ECONNRESET' })],
    ['a retryable AppError', new AppError('lost_race', 'x')],
    ['a retryable cause', new Error('outer', { cause: Object.assign(new Error('inner'), { code: '40P01' }) })],
    ['a deadlock from pg itself (SqlDatabase)', Object.assign(new Error('deadlock detected'), { code: '40P01' })],
    ['a busy pool', Object.assign(new AppError('database_busy', 'x', { canRetry: true }))],
    [
      'a database that refuses writes for now (25006, read-only)',
      Object.assign(new Error('cannot execute INSERT in a read-only transaction'), { code: '25006' }),
    ],
    ['a full disk (53100)', Object.assign(new Error('could not extend file'), { code: '53100' })],
  ])('retries %s', (_name, error) => expect(isTransient(error)).toBe(true));

  it.each([
    ['a division by zero', prismaError('P2010', { originalCode: '22012', kind: 'postgres', code: '22012' })],
    ['an invalid uuid', prismaError('P2007', { originalCode: '22P02', kind: 'InvalidInputValue' })],
    ['a unique violation', Object.assign(new Error('x'), { code: 'P2002' })],
    ['a permanent AppError', new AppError('validation', 'x')],
  ])('does not retry %s', (_name, error) => expect(isTransient(error)).toBe(false));
});
