/**
 * RegisterUsage (paid container products): checks entitlement and the public key version, records the
 * registration, and answers a JWT signed with the emulator's ES256 key. Versions below the current one
 * still verify but carry `PublicKeyRotationTimestamp`, as AWS does for an expired version.
 */
import { ServiceError } from '../errors.js';
import { toEpochSeconds } from '../protocol.js';
import type { RegisterUsageRequestWire, RegisterUsageResultWire } from '../wire.js';
import type { OperationContext } from './context.js';
import { assertEntitledProduct } from './entitlement.js';

/** Handles a validated RegisterUsage request. */
export function registerUsage(
  input: RegisterUsageRequestWire,
  ctx: OperationContext,
): RegisterUsageResultWire {
  const { state, nowMillis } = ctx;
  const { catalog } = state;
  assertEntitledProduct(catalog, input.ProductCode);
  const current = state.options.publicKeyVersion;
  if (input.PublicKeyVersion > current) {
    throw new ServiceError(
      'InvalidPublicKeyVersionException',
      `Public key version ${input.PublicKeyVersion} does not exist; the current version is ${current}`,
    );
  }
  catalog.noteUse({ productCode: input.ProductCode });
  const signature = state.signer.sign(
    {
      productCode: input.ProductCode,
      publicKeyVersion: input.PublicKeyVersion,
      nonce: input.Nonce ?? null,
      iat: Math.floor(nowMillis / 1000),
    },
    String(input.PublicKeyVersion),
  );
  state.ledger.recordRegistration({
    productCode: input.ProductCode,
    publicKeyVersion: input.PublicKeyVersion,
    ...(input.Nonce !== undefined && { nonce: input.Nonce }),
    instanceId: ctx.instanceId,
    region: ctx.region,
    registeredAtMillis: nowMillis,
  });
  return {
    Signature: signature,
    ...(input.PublicKeyVersion < current && {
      PublicKeyRotationTimestamp: toEpochSeconds(state.keyRotatedAtMillis),
    }),
  };
}
