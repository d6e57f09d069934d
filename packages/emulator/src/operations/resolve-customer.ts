/**
 * ResolveCustomer: answers for registration tokens issued through the control API. A live token
 * always gets the same answer; Concurrent Agreements tokens answer account + license + product,
 * legacy ones customer identifier + product.
 */
import { ServiceError } from '../errors.js';
import type { ResolveCustomerRequestWire, ResolveCustomerResultWire } from '../wire.js';
import type { OperationContext } from './context.js';

/** Handles a validated ResolveCustomer request. */
export function resolveCustomer(
  input: ResolveCustomerRequestWire,
  ctx: OperationContext,
): ResolveCustomerResultWire {
  const { tokens } = ctx.state;
  const token = tokens.get(input.RegistrationToken);
  if (!token) throw new ServiceError('InvalidTokenException', 'Registration token is invalid');
  if (ctx.nowMillis >= token.expiresAtMillis) {
    throw new ServiceError('ExpiredTokenException', 'Registration token has expired');
  }
  tokens.noteResolved(token.token);
  return {
    ...(token.customerIdentifier !== undefined && { CustomerIdentifier: token.customerIdentifier }),
    ProductCode: token.productCode,
    ...(token.customerAWSAccountId !== undefined && { CustomerAWSAccountId: token.customerAWSAccountId }),
    ...(token.licenseArn !== undefined && { LicenseArn: token.licenseArn }),
  };
}
