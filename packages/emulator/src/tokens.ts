/**
 * Registration tokens, as the buyer's browser would POST them to the seller's registration page.
 * Issued through the control API, resolved by ResolveCustomer; every resolution of a live token
 * returns the same answer.
 */

/** A registration token and the answer ResolveCustomer gives for it. */
export interface RegistrationTokenView {
  readonly token: string;
  readonly productCode: string;
  /** Set for legacy customers. */
  readonly customerIdentifier?: string;
  readonly customerAWSAccountId?: string;
  /** Set for Concurrent Agreements customers. */
  readonly licenseArn?: string;
  readonly issuedAtMillis: number;
  readonly expiresAtMillis: number;
  /** How many times ResolveCustomer answered for this token. */
  readonly resolveCount: number;
}

/** @internal */
export class TokenStore {
  readonly #tokens = new Map<string, RegistrationTokenView & { resolveCount: number }>();

  add(token: Omit<RegistrationTokenView, 'resolveCount'>): RegistrationTokenView {
    const stored = { ...token, resolveCount: 0 };
    this.#tokens.set(token.token, stored);
    return { ...stored };
  }

  get(token: string): RegistrationTokenView | undefined {
    const stored = this.#tokens.get(token);
    return stored ? { ...stored } : undefined;
  }

  noteResolved(token: string): void {
    const stored = this.#tokens.get(token);
    if (stored) stored.resolveCount += 1;
  }

  list(): RegistrationTokenView[] {
    return [...this.#tokens.values()].map((t) => ({ ...t }));
  }

  clear(): void {
    this.#tokens.clear();
  }
}
