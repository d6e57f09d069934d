/** Reads a query parameter that must appear at most once, so `?city=a&city=b` is a 400 that says why. */
import type { Request } from 'express';

/** The parameter was repeated or bracketed (`?city=a&city=b`, `?city[x]=1`): the client's mistake. */
export class RepeatedQueryParameterError extends Error {
  readonly status = 400;
  constructor(readonly parameter: string) {
    super(`query parameter \`${parameter}\` must be given once, as plain text`);
    this.name = 'RepeatedQueryParameterError';
  }
}

/** The one value of query parameter `name`: undefined when absent. */
export function singleQueryValue(req: Request, name: string): string | undefined {
  const value: unknown = req.query[name];
  if (value === undefined || typeof value === 'string') return value;
  throw new RepeatedQueryParameterError(name);
}
