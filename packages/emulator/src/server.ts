/**
 * The service endpoint: authenticates, applies faults, validates against the model, runs the operation
 * and answers in awsJson1_1 — or loses the answer on purpose after committing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ServiceError } from './errors.js';
import type { CallRecord } from './ledger.js';
import { OPERATIONS } from './operations/index.js';
import type { OperationName } from './options.js';
import { operationFromTarget, parseJsonBody, readBody, sendError, sendResult } from './protocol.js';
import { parseAuthorization, verifySignature } from './sigv4.js';
import type { EmulatorState } from './state.js';
import { validateInput } from './validation.js';

/** Header that names the MeterUsage / RegisterUsage caller instead of the access key id. */
export const INSTANCE_ID_HEADER = 'x-meterkit-instance-id';

type MutableCall = { -readonly [K in keyof Omit<CallRecord, 'sequence'>]: Omit<CallRecord, 'sequence'>[K] };

/** @internal Handles one request on the service endpoint. */
export async function handleServiceRequest(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const requestId = state.ids.uuid();
  const call: MutableCall = {
    operation: null,
    statusCode: null,
    requestId,
    receivedAtMillis: state.clock.now(),
  };
  try {
    const { body, tooLarge } = await readBody(req);
    if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
      throw new ServiceError(
        'UnknownOperationException',
        `Only POST / is served; got ${req.method} ${req.url}`,
      );
    }
    const auth = parseAuthorization(req.headers.authorization);
    call.accessKeyId = auth.accessKeyId;
    call.region = auth.region;
    const operation = operationFromTarget(req.headers['x-amz-target']);
    call.operation = operation;
    if (tooLarge) {
      throw new ServiceError('ValidationException', 'The request body must be smaller than 1 MB');
    }
    if (state.options.credentials) {
      verifySignature(
        { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
        auth,
        state.options.credentials,
      );
    }
    const definition = OPERATIONS[operation];
    const enabled = state.options.enabledRegions;
    if (enabled && !enabled.includes(auth.region)) {
      throw new ServiceError(
        definition.regionError,
        `${operation} is not available in region ${auth.region}`,
      );
    }
    const latency = state.faults.latencyMillis(operation);
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    // The clock is read again after the latency so time-window checks see the time of processing.
    const nowMillis = state.clock.now();
    admit(state, operation, call);
    const input = validateInput(definition.inputShape, parseJsonBody(body));
    const instanceHeader = req.headers[INSTANCE_ID_HEADER];
    const result = definition.handle(input, {
      state,
      nowMillis,
      region: auth.region,
      instanceId: (Array.isArray(instanceHeader) ? instanceHeader[0] : instanceHeader) || auth.accessKeyId,
      note: (facts) => Object.assign(call, facts),
    });
    if (state.faults.dropResponse(operation)) {
      call.fault = 'drop-response';
      // Committed, but the client never hears back: it sees a reset connection and must retry.
      req.socket.destroy();
      return;
    }
    call.statusCode = 200;
    sendResult(res, requestId, result);
  } catch (error) {
    const serviceError =
      error instanceof ServiceError
        ? error
        : new ServiceError('InternalServiceErrorException', `Emulator failure: ${(error as Error).message}`);
    call.statusCode = serviceError.statusCode;
    call.errorType = serviceError.type;
    sendError(res, requestId, serviceError);
  } finally {
    state.ledger.recordCall(call);
  }
}

function admit(state: EmulatorState, operation: OperationName, call: MutableCall): void {
  const fault = state.faults.admit(operation);
  if (fault === undefined) return;
  call.fault = fault;
  if (fault === 'internal-error') {
    throw new ServiceError(
      'InternalServiceErrorException',
      'An internal error occurred. Retry your request.',
    );
  }
  throw new ServiceError('ThrottlingException', 'Rate exceeded');
}
