// Conditional requests (RFC 9110 §13, RFC 6585 §3) for resources whose entity tag is their
// integer version: GET answers `ETag: "<version>"`, a write sends it back in If-Match.
import { AppError } from '../errors.ts';

export const etagOf = (version: number) => `"${version}"`;

/**
 * The version an If-Match header asks for: a number, '*' (any current version), undefined when
 * the header is absent. If-Match compares strongly, so a weak tag (W/"3") never matches; a list
 * that holds no usable tag is a precondition nobody can meet.
 */
export function ifMatchVersion(header: string | undefined): number | '*' | 'none' | undefined {
  if (header === undefined) return undefined;
  const tags = header.split(',').map((t) => t.trim());
  if (tags.includes('*')) return '*';
  for (const tag of tags) {
    const m = /^"(\d{1,15})"$/.exec(tag);
    if (m) return Number(m[1]);
  }
  return 'none';
}

export const preconditionFailed = (detail: string, current?: number) =>
  new AppError('precondition_failed', detail, { status: 412, details: current === undefined ? {} : { currentETag: etagOf(current) } });

export const preconditionRequired = (detail: string) => new AppError('precondition_required', detail, { status: 428 });
