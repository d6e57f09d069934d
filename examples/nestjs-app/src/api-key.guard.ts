/** The example's API-key authentication, run before metering. */
import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { type AuthenticatedCustomer, CUSTOMERS } from './customers.js';

/** The request once authenticated: the guard attaches the customer the API key belongs to. */
export interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  customer?: AuthenticatedCustomer;
}

/** Authenticates the `x-api-key` header against the customer table; anything else is 401, before metering. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(CUSTOMERS) private readonly customers: ReadonlyMap<string, AuthenticatedCustomer>) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const key = request.headers['x-api-key'];
    const customer = typeof key === 'string' ? this.customers.get(key) : undefined;
    if (customer === undefined) throw new UnauthorizedException('a valid x-api-key header is required');
    request.customer = customer;
    return true;
  }
}
