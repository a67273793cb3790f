// The payment provider boundary. The default is a built-in simulator driven by the token, so
// every outcome (approve, decline, transient failure, hang) can be produced on demand.
import { AppError } from '@shop/lib/errors';

export interface ChargeRequest {
  /** The order id: a real provider dedupes on it, so a retried charge never charges twice. */
  idempotencyKey: string;
  amountCents: number;
  currency: string;
  token: string;
  /** 1 for the first try of this charge. */
  attempt: number;
}

export type ChargeResult = { status: 'approved'; providerRef: string } | { status: 'declined'; reason: string };

export interface PaymentProvider {
  charge(request: ChargeRequest): Promise<ChargeResult>;
  refund(request: { idempotencyKey: string; providerRef: string; amountCents: number }): Promise<{ refundRef: string }>;
}

export class ProviderUnavailableError extends AppError {
  constructor(message: string) {
    super('provider_unavailable', message, { canRetry: true });
  }
}

/** tok_ok approves, tok_decline declines, tok_flaky fails twice then approves, tok_hang never answers. */
export class SimulatedProvider implements PaymentProvider {
  async charge(request: ChargeRequest): Promise<ChargeResult> {
    switch (request.token) {
      case 'tok_ok':
        return { status: 'approved', providerRef: `sim_ch_${request.idempotencyKey}` };
      case 'tok_decline':
        return { status: 'declined', reason: 'card_declined' };
      case 'tok_flaky':
        if (request.attempt <= 2) throw new ProviderUnavailableError('simulated provider: temporarily unavailable');
        return { status: 'approved', providerRef: `sim_ch_${request.idempotencyKey}` };
      case 'tok_hang':
        return new Promise<never>(() => undefined);
      default:
        return { status: 'declined', reason: 'invalid_token' };
    }
  }

  async refund(request: { idempotencyKey: string; providerRef: string }): Promise<{ refundRef: string }> {
    return { refundRef: `sim_re_${request.idempotencyKey}` };
  }
}
