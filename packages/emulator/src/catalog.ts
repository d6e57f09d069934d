/**
 * Products and licenses known to the emulator. Configured products fix their dimension list in every
 * mode; in permissive mode (the default) unknown products, dimensions and licenses are accepted and
 * registered on first use, so a demo works with no configuration at all.
 */
import { EmulatorConfigurationError } from './errors.js';
import type { ProductConfig } from './options.js';

/** A product as the emulator sees it. */
export interface ProductView {
  readonly productCode: string;
  readonly dimensions: readonly string[];
  readonly licenseArns: readonly string[];
  readonly entitled: boolean;
  /** `false` when the product was registered on first use in permissive mode. */
  readonly configured: boolean;
}

/** A Concurrent Agreements license. */
export interface LicenseView {
  readonly licenseArn: string;
  /** The product the license belongs to, when known. */
  readonly productCode?: string;
  /** The buyer account the license was granted to, when known. */
  readonly customerAWSAccountId?: string;
  /** `true` when registered on first use in permissive mode. */
  readonly autoRegistered: boolean;
}

interface Product {
  productCode: string;
  dimensions: Set<string>;
  entitled: boolean;
  configured: boolean;
}

interface License {
  licenseArn: string;
  productCode?: string;
  customerAWSAccountId?: string;
  autoRegistered: boolean;
}

/** @internal */
export class Catalog {
  readonly #strict: boolean;
  readonly #products = new Map<string, Product>();
  readonly #licenses = new Map<string, License>();

  constructor(strict: boolean) {
    this.#strict = strict;
  }

  /** Adds or replaces a configured product and registers its licenses. */
  putProduct(config: ProductConfig): ProductView {
    if (typeof config.productCode !== 'string' || config.productCode === '') {
      throw new EmulatorConfigurationError('a product needs a non-empty productCode');
    }
    if (
      !Array.isArray(config.dimensions) ||
      config.dimensions.some((d) => typeof d !== 'string' || d === '')
    ) {
      throw new EmulatorConfigurationError(
        `product ${config.productCode}: dimensions must be non-empty strings`,
      );
    }
    this.#products.set(config.productCode, {
      productCode: config.productCode,
      dimensions: new Set(config.dimensions),
      entitled: config.entitled ?? true,
      configured: true,
    });
    for (const licenseArn of config.licenseArns ?? []) {
      this.putLicense({ licenseArn, productCode: config.productCode });
    }
    return this.#view(this.#products.get(config.productCode)!);
  }

  /** Adds a license, or fills in what was unknown about it. */
  putLicense(input: {
    licenseArn: string;
    productCode?: string;
    customerAWSAccountId?: string;
  }): LicenseView {
    const existing = this.#licenses.get(input.licenseArn);
    if (
      input.productCode !== undefined &&
      existing?.productCode &&
      existing.productCode !== input.productCode
    ) {
      throw new EmulatorConfigurationError(
        `license ${input.licenseArn} already belongs to product ${existing.productCode}, not ${input.productCode}`,
      );
    }
    if (input.productCode !== undefined && !this.#products.has(input.productCode)) {
      if (this.#strict) {
        throw new EmulatorConfigurationError(
          `unknown product ${input.productCode} (strict mode: configure it first)`,
        );
      }
      this.#autoProduct(input.productCode);
    }
    const license: License = {
      licenseArn: input.licenseArn,
      productCode: input.productCode ?? existing?.productCode,
      customerAWSAccountId: input.customerAWSAccountId ?? existing?.customerAWSAccountId,
      autoRegistered: false,
    };
    this.#licenses.set(input.licenseArn, license);
    return { ...license };
  }

  /** The product, if it exists. */
  product(productCode: string): ProductView | undefined {
    const product = this.#products.get(productCode);
    return product ? this.#view(product) : undefined;
  }

  /** Whether a request may use this product code (exists, or permissive mode and non-empty). */
  acceptsProduct(productCode: string): boolean {
    if (productCode === '') return false;
    return this.#products.has(productCode) || !this.#strict;
  }

  /** Whether `dimension` is metered by the product (unknown products: accepted unless strict). */
  acceptsDimension(productCode: string | undefined, dimension: string): boolean {
    if (productCode === undefined) return !this.#strict;
    const product = this.#products.get(productCode);
    if (!product) return !this.#strict;
    return !product.configured || product.dimensions.has(dimension);
  }

  /** The license, if known. */
  license(licenseArn: string): LicenseView | undefined {
    const license = this.#licenses.get(licenseArn);
    return license ? { ...license } : undefined;
  }

  /** Whether a request may use this license. */
  acceptsLicense(licenseArn: string): boolean {
    return this.#licenses.has(licenseArn) || !this.#strict;
  }

  /** Records first use of a product / license / dimension in permissive mode. No-op for known ones. */
  noteUse(use: { productCode?: string; licenseArn?: string; dimension?: string }): void {
    if (use.licenseArn !== undefined && !this.#licenses.has(use.licenseArn)) {
      this.#licenses.set(use.licenseArn, { licenseArn: use.licenseArn, autoRegistered: true });
    }
    const productCode =
      use.productCode ?? (use.licenseArn ? this.#licenses.get(use.licenseArn)?.productCode : undefined);
    if (productCode === undefined || productCode === '') return;
    const product = this.#products.get(productCode) ?? this.#autoProduct(productCode);
    if (use.dimension !== undefined && !product.configured) product.dimensions.add(use.dimension);
  }

  /** Every product, configured ones first. */
  products(): ProductView[] {
    return [...this.#products.values()]
      .sort((a, b) => Number(b.configured) - Number(a.configured))
      .map((p) => this.#view(p));
  }

  /** Every license. */
  licenses(): LicenseView[] {
    return [...this.#licenses.values()].map((l) => ({ ...l }));
  }

  /** Forgets everything. */
  clear(): void {
    this.#products.clear();
    this.#licenses.clear();
  }

  #autoProduct(productCode: string): Product {
    const product: Product = { productCode, dimensions: new Set(), entitled: true, configured: false };
    this.#products.set(productCode, product);
    return product;
  }

  #view(product: Product): ProductView {
    return {
      productCode: product.productCode,
      dimensions: [...product.dimensions],
      licenseArns: [...this.#licenses.values()]
        .filter((l) => l.productCode === product.productCode)
        .map((l) => l.licenseArn),
      entitled: product.entitled,
      configured: product.configured,
    };
  }
}
