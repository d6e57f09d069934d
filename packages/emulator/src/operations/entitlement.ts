/** The product-code and entitlement check that MeterUsage and RegisterUsage share. */
import type { Catalog } from '../catalog.js';
import { ServiceError } from '../errors.js';

/**
 * The product checks MeterUsage and RegisterUsage share: the product code must exist, and the caller must be entitled
 * to it.
 */
export function assertEntitledProduct(catalog: Catalog, productCode: string): void {
  if (!catalog.acceptsProduct(productCode)) {
    throw new ServiceError('InvalidProductCodeException', `Product code '${productCode}' does not exist`);
  }
  if (catalog.product(productCode)?.entitled === false) {
    throw new ServiceError(
      'CustomerNotEntitledException',
      `The caller is not entitled to product ${productCode}`,
    );
  }
}
