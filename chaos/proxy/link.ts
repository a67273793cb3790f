// One proxied TCP connection: bytes go both ways through a lane that can hold them back (added
// latency, a stall that stands for a network partition) or cut the connection (a reset). The
// lanes keep the byte order and apply back-pressure, so a slow side slows the sender instead of
// filling the proxy's memory.
import type { Socket } from 'node:net';

/** What a route does to its links at this moment. */
export interface LinkFaults {
  /** Added to every chunk, in each direction (a round trip gains twice this). */
  latencyMs: number;
  /** While true nothing is forwarded and the bytes wait, as in a partition shorter than TCP's timeouts. */
  stalled: boolean;
}

const HIGH_WATER = 4 * 1024 * 1024; // pause the sender above this many bytes held back…
const LOW_WATER = 1024 * 1024; // …and resume it below this

/** One direction of a link: chunks from `from`, each due `latencyMs` after it arrived, written to `to`. */
class Lane {
  readonly #from: Socket;
  readonly #to: Socket;
  readonly #faults: () => LinkFaults;
  readonly #queue: { chunk: Buffer; due: number }[] = [];
  #held = 0;
  #timer: NodeJS.Timeout | undefined;
  #draining = false;
  bytes = 0;

  constructor(from: Socket, to: Socket, faults: () => LinkFaults) {
    this.#from = from;
    this.#to = to;
    this.#faults = faults;
    from.on('data', (chunk: Buffer) => {
      this.#queue.push({ chunk, due: Date.now() + this.#faults().latencyMs });
      this.#held += chunk.length;
      if (this.#held > HIGH_WATER) from.pause();
      this.pump();
    });
  }

  /** Forwards what is due; called on every chunk, on a timer for the next one, and when a fault ends. */
  pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#draining || this.#faults().stalled || this.#to.destroyed) return;
    const now = Date.now();
    while (this.#queue.length > 0 && this.#queue[0].due <= now) {
      const { chunk } = this.#queue.shift()!;
      this.#held -= chunk.length;
      this.bytes += chunk.length;
      if (!this.#to.write(chunk)) {
        this.#draining = true;
        this.#to.once('drain', () => {
          this.#draining = false;
          this.pump();
        });
        break;
      }
    }
    if (this.#held < LOW_WATER && this.#from.isPaused()) this.#from.resume();
    if (!this.#draining && this.#queue.length > 0) this.#timer = setTimeout(() => this.pump(), this.#queue[0].due - now);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}

export class Link {
  readonly #client: Socket;
  readonly #upstream: Socket;
  readonly #lanes: Lane[];

  constructor(client: Socket, upstream: Socket, faults: () => LinkFaults, onClose: () => void) {
    this.#client = client;
    this.#upstream = upstream;
    this.#lanes = [new Lane(client, upstream, faults), new Lane(upstream, client, faults)];
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      for (const lane of this.#lanes) lane.stop();
      // One side gone ⇒ the other is cut too, as a broken path would: the client sees its
      // server vanish, not a half-open socket.
      client.destroy();
      upstream.destroy();
      onClose();
    };
    for (const s of [client, upstream]) {
      s.on('error', close);
      s.on('close', close);
    }
  }

  /** Bytes forwarded so far: client → upstream, upstream → client. */
  get bytes(): [number, number] {
    return [this.#lanes[0].bytes, this.#lanes[1].bytes];
  }

  /** A fault changed: forward what it held back. */
  wake(): void {
    for (const lane of this.#lanes) lane.pump();
  }

  /** Cuts the connection with a TCP RST on the client's side (as a middlebox or failover would). */
  reset(): void {
    this.#client.resetAndDestroy();
    this.#upstream.destroy();
  }
}
