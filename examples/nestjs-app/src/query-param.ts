/** Reads a query parameter that must appear at most once, answering 400 (not 500) for `?city=a&city=b`. */
import { BadRequestException } from '@nestjs/common';

/**
 * The one value of query parameter `name`: undefined when absent. A repeated parameter arrives as an array (Express)
 * and a bracketed one as an object (`?city[x]=1`); both are the client's mistake, so a 400 that says so.
 */
export function singleQueryValue(value: unknown, name: string): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw new BadRequestException(`query parameter \`${name}\` must be given once, as plain text`);
}
