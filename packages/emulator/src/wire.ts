/**
 * Request and response bodies as they travel in awsJson1_1: PascalCase member names, timestamps as
 * epoch seconds. Request types describe a body *after* validation (see `validation.ts`), so required
 * members are present and types are right.
 */

/** A cost-allocation tag. */
export interface TagWire {
  Key: string;
  Value: string;
}

/** One slice of a record's quantity, optionally tagged. */
export interface UsageAllocationWire {
  AllocatedUsageQuantity: number;
  Tags?: TagWire[];
}

/** One BatchMeterUsage record. `Timestamp` is epoch seconds, fractional allowed. */
export interface UsageRecordWire {
  Timestamp: number;
  CustomerIdentifier?: string;
  Dimension: string;
  Quantity?: number;
  UsageAllocations?: UsageAllocationWire[];
  CustomerAWSAccountId?: string;
  LicenseArn?: string;
}

/** BatchMeterUsage input. */
export interface BatchMeterUsageRequestWire {
  UsageRecords: UsageRecordWire[];
  ProductCode?: string;
}

/** Per-record outcome in a BatchMeterUsage answer. */
export type UsageRecordResultStatus = 'Success' | 'CustomerNotSubscribed' | 'DuplicateRecord';

/** One entry of `Results`. */
export interface UsageRecordResultWire {
  UsageRecord: UsageRecordWire;
  MeteringRecordId?: string;
  Status: UsageRecordResultStatus;
}

/** BatchMeterUsage output. */
export interface BatchMeterUsageResultWire {
  Results: UsageRecordResultWire[];
  UnprocessedRecords: UsageRecordWire[];
}

/** MeterUsage input. */
export interface MeterUsageRequestWire {
  ProductCode: string;
  Timestamp: number;
  UsageDimension: string;
  UsageQuantity?: number;
  DryRun?: boolean;
  UsageAllocations?: UsageAllocationWire[];
  ClientToken?: string;
}

/** MeterUsage output. */
export interface MeterUsageResultWire {
  MeteringRecordId: string;
}

/** ResolveCustomer input. */
export interface ResolveCustomerRequestWire {
  RegistrationToken: string;
}

/** ResolveCustomer output. */
export interface ResolveCustomerResultWire {
  CustomerIdentifier?: string;
  ProductCode?: string;
  CustomerAWSAccountId?: string;
  LicenseArn?: string;
}

/** RegisterUsage input. */
export interface RegisterUsageRequestWire {
  ProductCode: string;
  PublicKeyVersion: number;
  Nonce?: string;
}

/** RegisterUsage output. */
export interface RegisterUsageResultWire {
  Signature: string;
  PublicKeyRotationTimestamp?: number;
}
