// Who a customer is: the `sub` of their token (RFC 7519 §4.1.2), a case-sensitive StringOrURI that
// each identity provider forms its own way: `auth0|5f7c8ec7c33c6c004bbafe82`, Google's long digit
// strings, Okta's `00u…`, UUIDs, URIs. We take any of them as it is, stored and compared byte for
// byte (no case folding, no Unicode normalisation): one rule for a token's `sub` and for the
// customer an admin names.

/** The bound on a subject, in UTF-8 bytes. */
export const SUBJECT_MAX_BYTES = 255;

/** No control characters (C0, DEL, C1); the byte bound is checked by subjectProblem. */
export const SUBJECT_PATTERN = '^[^\\p{Cc}]+$';
const SUBJECT = new RegExp(SUBJECT_PATTERN, 'u');

/** Why `value` cannot be a subject, or undefined when it can. */
export function subjectProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (!SUBJECT.test(value) || /\p{Cs}/u.test(value)) return 'must not contain control characters or unpaired surrogates';
  if (Buffer.byteLength(value, 'utf8') > SUBJECT_MAX_BYTES) return `must be at most ${SUBJECT_MAX_BYTES} bytes in UTF-8`;
  return undefined;
}
