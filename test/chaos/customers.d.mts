import type { CustomerRef } from '@meterkit/core';

export declare const PRODUCT_CODE: string;
export declare const DIMENSIONS: readonly string[];
export declare function customerFor(i: number): CustomerRef;
export declare function customerIndexOf(record: { customerIdentifier?: string; licenseArn?: string }): number;
