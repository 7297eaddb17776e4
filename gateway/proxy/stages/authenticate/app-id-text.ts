/**
 * Whether a name a credential gives (an external token's app claim, a client certificate's CN or subjectAltName)
 * can be an app id: it goes upstream in the app header and into the access event, so it is 1–256 characters of
 * printable ASCII, spaces inside only. Another (a line break, NUL, a lone surrogate, CJK, 10 KB) could be neither:
 * the request failed at the upstream's door after it was let in, or went uncounted.
 */
export const isAppIdText = (id: string): boolean => id.length <= 256 && PRINTABLE_ASCII.test(id);

const PRINTABLE_ASCII = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
