// How many long polls and event streams one client may hold open on this instance at once
// (ORDER_MAX_WAITS_PER_CLIENT): each holds a socket, a feed listener and timers, so one client
// could otherwise hold them all. Past the cap: 429 with Retry-After; a slot is freed when its
// wait ends or its client goes away.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '@shop/lib/errors';
import { callerOf } from '@shop/lib/http/auth';

export class WaitSlots {
  readonly #held = new Map<string, number>();
  readonly #max: number;

  constructor(maxPerClient: number) {
    this.#max = maxPerClient;
  }

  /** Takes a slot for the request's client, or throws 429; the returned function gives it back (once). */
  acquire(request: FastifyRequest, reply: FastifyReply): () => void {
    const client = callerOf(request);
    const held = this.#held.get(client) ?? 0;
    if (held >= this.#max) {
      reply.header('retry-after', '1');
      throw new AppError('rate_limited', `at most ${this.#max} open waits and event streams per client`, { status: 429 });
    }
    this.#held.set(client, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#held.get(client) ?? 1) - 1;
      if (left > 0) this.#held.set(client, left);
      else this.#held.delete(client);
    };
  }
}
