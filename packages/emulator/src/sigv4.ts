/**
 * AWS Signature Version 4 for the service endpoint: parsing the `Authorization` header, checking the
 * credential scope names the `aws-marketplace` signing name, and — when credentials are configured —
 * recomputing the signature (canonical request, string to sign, HMAC key chain) over the headers the
 * client chose to sign.
 *
 * Not checked: request time against the clock (tests move the emulator clock freely while the SDK
 * signs with wall time) and session tokens.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ServiceError } from './errors.js';
import type { EmulatorCredentials } from './options.js';

/** The signing name the service's credential scope must carry. */
export const SIGNING_NAME = 'aws-marketplace';

const ALGORITHM = 'AWS4-HMAC-SHA256';

/** The parts of a SigV4 `Authorization` header. */
export interface ParsedAuthorization {
  readonly accessKeyId: string;
  /** `YYYYMMDD` from the credential scope. */
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** A request as needed for signing. Header names must be lowercase. */
export interface SignableRequest {
  readonly method: string;
  /** Path plus optional query string, as sent (`/`, `/?a=b`). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body: Buffer;
}

/**
 * Parses the `Authorization` header.
 *
 * @throws {ServiceError} `MissingAuthenticationTokenException` when absent,
 *   `IncompleteSignatureException` when malformed, `InvalidSignatureException` for a wrong service scope.
 */
export function parseAuthorization(header: string | undefined): ParsedAuthorization {
  if (header === undefined || header.trim() === '') {
    throw new ServiceError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const [algorithm, ...rest] = header.trim().split(/\s+/);
  if (algorithm !== ALGORITHM) {
    throw new ServiceError(
      'IncompleteSignatureException',
      `Unsupported authorization algorithm '${algorithm}'`,
    );
  }
  const fields = new Map<string, string>();
  for (const part of rest.join(' ').split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  const scope = credential?.split('/');
  if (scope?.length !== 5 || scope[4] !== 'aws4_request' || !signedHeaders || !signature) {
    throw new ServiceError(
      'IncompleteSignatureException',
      "Authorization header requires 'Credential' (AKID/date/region/service/aws4_request), 'SignedHeaders' and 'Signature'",
    );
  }
  const [accessKeyId, date, region, service] = scope as [string, string, string, string];
  if (service !== SIGNING_NAME) {
    throw new ServiceError(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${SIGNING_NAME}'`,
    );
  }
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

/**
 * Verifies the request's signature against the configured credentials.
 *
 * @throws {ServiceError} `UnrecognizedClientException` for an unknown access key,
 *   `InvalidSignatureException` when the signature does not match.
 */
export function verifySignature(
  request: SignableRequest,
  auth: ParsedAuthorization,
  credentials: readonly EmulatorCredentials[],
): void {
  const match = credentials.find((c) => c.accessKeyId === auth.accessKeyId);
  if (!match) {
    throw new ServiceError(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  }
  const amzDate = headerValue(request.headers, 'x-amz-date');
  if (!amzDate?.startsWith(auth.date)) {
    throw new ServiceError(
      'IncompleteSignatureException',
      'X-Amz-Date is missing or does not match the credential scope date',
    );
  }
  const expected = computeSignature(request, {
    secretAccessKey: match.secretAccessKey,
    amzDate,
    date: auth.date,
    region: auth.region,
    service: auth.service,
    signedHeaders: auth.signedHeaders,
  });
  const given = Buffer.from(auth.signature, 'utf8');
  const wanted = Buffer.from(expected, 'utf8');
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    throw new ServiceError(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
}

/**
 * Signs a request the way SigV4 clients do and returns the headers to add (`authorization`,
 * `x-amz-date`, `x-amz-content-sha256`). Used by tests and tools that talk to the emulator without an
 * AWS SDK. Every header present in `request.headers` (plus the added ones) is signed.
 */
export function signRequest(
  request: SignableRequest,
  options: {
    accessKeyId: string;
    secretAccessKey: string;
    region: string;
    service?: string;
    date?: Date;
  },
): Record<string, string> {
  const amzDate = (options.date ?? new Date())
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const service = options.service ?? SIGNING_NAME;
  const added = { 'x-amz-date': amzDate, 'x-amz-content-sha256': sha256Hex(request.body) };
  const headers: Record<string, string | readonly string[] | undefined> = { ...request.headers, ...added };
  const signedHeaders = Object.keys(headers)
    .map((h) => h.toLowerCase())
    .filter((h) => headers[h] !== undefined)
    .sort();
  const signature = computeSignature(
    { ...request, headers },
    {
      secretAccessKey: options.secretAccessKey,
      amzDate,
      date,
      region: options.region,
      service,
      signedHeaders,
    },
  );
  return {
    ...added,
    authorization: `${ALGORITHM} Credential=${options.accessKeyId}/${date}/${options.region}/${service}/aws4_request, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`,
  };
}

function computeSignature(
  request: SignableRequest,
  s: {
    secretAccessKey: string;
    amzDate: string;
    date: string;
    region: string;
    service: string;
    signedHeaders: readonly string[];
  },
): string {
  const queryAt = request.url.indexOf('?');
  const path = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
  const query = queryAt < 0 ? '' : request.url.slice(queryAt + 1);
  const canonicalHeaders = s.signedHeaders
    .map((name) => `${name}:${(headerValue(request.headers, name) ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  // Always the hash of the bytes received, never the client's x-amz-content-sha256 claim: a body
  // changed after signing must fail verification.
  const payloadHash = sha256Hex(request.body);
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath(path),
    canonicalQuery(query),
    canonicalHeaders,
    s.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${s.date}/${s.region}/${s.service}/aws4_request`;
  const stringToSign = [ALGORITHM, s.amzDate, scope, sha256Hex(Buffer.from(canonicalRequest, 'utf8'))].join(
    '\n',
  );
  let key: Buffer = hmac(`AWS4${s.secretAccessKey}`, s.date);
  key = hmac(key, s.region);
  key = hmac(key, s.service);
  key = hmac(key, 'aws4_request');
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

function canonicalPath(path: string): string {
  if (path === '' || path === '/') return '/';
  // Non-S3 services encode each segment twice: once as sent, once more for the canonical form.
  return path
    .split('/')
    .map((segment) => encodeRfc3986(encodeRfc3986(safeDecode(segment))))
    .join('/');
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      return [encodeRfc3986(safeDecode(key)), encodeRfc3986(safeDecode(value))] as const;
    })
    .sort(([ak, av], [bk, bv]) => (ak === bk ? (av < bv ? -1 : 1) : ak < bk ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function headerValue(
  headers: SignableRequest['headers'] | IncomingHttpHeaders,
  name: string,
): string | undefined {
  const value = (headers as Record<string, string | readonly string[] | undefined>)[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(',');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
