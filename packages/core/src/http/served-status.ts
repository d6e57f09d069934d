/** Which final statuses mean the customer was served, one rule for every adapter. */

/**
 * The default success rule: 2xx, and 3xx except `304 Not Modified`. A 304 answers a conditional request with "use
 * your cached copy": no content is served, so it is not billed by default (a route that wants it billed passes its
 * own `successStatus`). 1xx, 4xx and 5xx never count.
 */
export function isServedStatus(status: number): boolean {
  return status >= 200 && status < 400 && status !== 304;
}
