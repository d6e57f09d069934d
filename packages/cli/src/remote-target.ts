// Runs the commands on a running app through its admin endpoint (apps on the memory store).
import type { FlushReport } from '@meterkit/core';
import type { AuditRow, DeadLetterRow } from '@meterkit/core/ops';
import type { CliArgs } from './args.js';
import { CliError, ExitCode } from './exit-codes.js';
import type { OpsTarget, RequeueAnswer, TargetStatus } from './target.js';

/** A client for the routes of `meteringAdmin()` / `MeteringAdminModule`. */
export function remoteTarget(args: CliArgs): OpsTarget {
  const target = args.target as { kind: 'url'; url: string; token: string };
  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${target.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${target.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(args.timeoutMillis + 5_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message;
      throw new CliError(
        ExitCode.unreachable,
        `cannot reach ${target.url}: ${cause ?? (error as Error).message}`,
      );
    }
    const answer = (await response.json().catch(() => ({}))) as { error?: string; message?: unknown };
    if (response.status === 401)
      throw new CliError(ExitCode.unauthorized, `${target.url} refused the admin token`);
    if (response.status === 404) {
      throw new CliError(ExitCode.unreachable, `${target.url}${path} is not a meterkit admin endpoint (404)`);
    }
    if (!response.ok) {
      throw new CliError(
        ExitCode.failure,
        `${target.url}${path} answered ${response.status}: ${answer.error ?? JSON.stringify(answer)}`,
      );
    }
    return answer as T;
  }
  return {
    label: `app ${target.url}`,
    status: () => call<TargetStatus>('GET', '/status'),
    deadLetters: (limit) => call<DeadLetterRow[]>('GET', `/dead-letters?limit=${limit}`),
    async requeue(request) {
      if (request.dryRun) {
        throw new CliError(
          ExitCode.usage,
          '--dry-run works on a store (--sqlite, --redis), not through --url',
        );
      }
      return call<RequeueAnswer>('POST', '/dead-letters/requeue', {
        ...(request.ids === undefined ? {} : { ids: request.ids }),
        minWindowLeftMillis: request.minWindowLeftMillis,
      });
    },
    audit: (limit) => call<AuditRow[]>('GET', `/audit?limit=${limit}`),
    flush: () => call<FlushReport>('POST', '/flush'),
    close: async () => undefined,
  };
}
