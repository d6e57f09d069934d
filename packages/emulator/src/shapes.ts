/**
 * The input shapes of the four operations, transcribed from the Marketplace Metering Smithy model
 * (`com.amazonaws.marketplacemetering`, API version 2016-01-14). Names and constraints are the model's;
 * the conformance test walks the model itself and checks the emulator enforces every bound listed here.
 *
 * One deliberate deviation: the tag pattern. The model's `^[a-zA-Z0-9+ -=._:\/@]+$` contains `+ -=`,
 * which a regex engine reads as the *range* space..`=` (so `!"#$%&'()*,;<` pass). The seller guide lists
 * the characters literally. The emulator takes the stricter, literal reading so code that passes here
 * also passes whichever reading AWS applies.
 */

/** Which error a constraint violation inside a shape is answered with. */
export type ViolationErrorType =
  | 'ValidationException'
  | 'InvalidTagException'
  | 'InvalidUsageAllocationsException';

/** A member of a structure shape. */
export interface MemberShape {
  readonly target: string;
  readonly required?: boolean;
}

/** A Smithy shape, reduced to what validation needs. */
export type Shape =
  | { readonly type: 'structure'; readonly members: Readonly<Record<string, MemberShape>> }
  | {
      readonly type: 'list';
      readonly member: string;
      readonly length?: { readonly min?: number; readonly max?: number };
      readonly violation?: ViolationErrorType;
    }
  | {
      readonly type: 'string';
      readonly length?: { readonly min?: number; readonly max?: number };
      readonly pattern?: RegExp;
      readonly violation?: ViolationErrorType;
    }
  | {
      readonly type: 'integer';
      readonly range?: { readonly min?: number; readonly max?: number };
      readonly violation?: ViolationErrorType;
    }
  | { readonly type: 'boolean' }
  | { readonly type: 'timestamp' };

const PRODUCT_CODE_PATTERN = /^[-a-zA-Z0-9/=:_.@]*$/;
const ANY_PATTERN = /^[\s\S]*$/;
const NON_EMPTY_PATTERN = /^[\s\S]+$/;
// Literal reading of the model's tag pattern (see the file comment): `-` is escaped, so no range.
const TAG_PATTERN = /^[a-zA-Z0-9+ \-=._:/@]+$/;
const LICENSE_ARN_PATTERN =
  /^arn:aws[a-zA-Z-]*:[A-Za-z0-9][A-Za-z0-9_/.-]{0,62}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,1023}$/;
const INT_MAX = 2147483647;

/** The shapes reachable from the four operations' inputs, keyed by their model names. */
export const SHAPES = {
  BatchMeterUsageRequest: {
    type: 'structure',
    members: {
      UsageRecords: { target: 'UsageRecordList', required: true },
      ProductCode: { target: 'ProductCode' },
    },
  },
  MeterUsageRequest: {
    type: 'structure',
    members: {
      ProductCode: { target: 'ProductCode', required: true },
      Timestamp: { target: 'Timestamp', required: true },
      UsageDimension: { target: 'UsageDimension', required: true },
      UsageQuantity: { target: 'UsageQuantity' },
      DryRun: { target: 'Boolean' },
      UsageAllocations: { target: 'UsageAllocations' },
      ClientToken: { target: 'ClientToken' },
    },
  },
  ResolveCustomerRequest: {
    type: 'structure',
    members: { RegistrationToken: { target: 'NonEmptyString', required: true } },
  },
  RegisterUsageRequest: {
    type: 'structure',
    members: {
      ProductCode: { target: 'ProductCode', required: true },
      PublicKeyVersion: { target: 'VersionInteger', required: true },
      Nonce: { target: 'Nonce' },
    },
  },
  UsageRecordList: { type: 'list', member: 'UsageRecord', length: { min: 0, max: 25 } },
  UsageRecord: {
    type: 'structure',
    members: {
      Timestamp: { target: 'Timestamp', required: true },
      CustomerIdentifier: { target: 'CustomerIdentifier' },
      Dimension: { target: 'UsageDimension', required: true },
      Quantity: { target: 'UsageQuantity' },
      UsageAllocations: { target: 'UsageAllocations' },
      CustomerAWSAccountId: { target: 'CustomerAWSAccountId' },
      LicenseArn: { target: 'LicenseArn' },
    },
  },
  UsageAllocations: {
    type: 'list',
    member: 'UsageAllocation',
    length: { min: 1, max: 2500 },
    violation: 'InvalidUsageAllocationsException',
  },
  UsageAllocation: {
    type: 'structure',
    members: {
      AllocatedUsageQuantity: { target: 'AllocatedUsageQuantity', required: true },
      Tags: { target: 'TagList' },
    },
  },
  TagList: { type: 'list', member: 'Tag', length: { min: 1, max: 5 }, violation: 'InvalidTagException' },
  Tag: {
    type: 'structure',
    members: { Key: { target: 'TagKey', required: true }, Value: { target: 'TagValue', required: true } },
  },
  TagKey: {
    type: 'string',
    length: { min: 1, max: 100 },
    pattern: TAG_PATTERN,
    violation: 'InvalidTagException',
  },
  TagValue: {
    type: 'string',
    length: { min: 1, max: 256 },
    pattern: TAG_PATTERN,
    violation: 'InvalidTagException',
  },
  AllocatedUsageQuantity: {
    type: 'integer',
    range: { min: 0, max: INT_MAX },
    violation: 'InvalidUsageAllocationsException',
  },
  UsageQuantity: { type: 'integer', range: { min: 0, max: INT_MAX } },
  VersionInteger: { type: 'integer', range: { min: 1 } },
  ProductCode: { type: 'string', length: { min: 0, max: 255 }, pattern: PRODUCT_CODE_PATTERN },
  UsageDimension: { type: 'string', length: { min: 1, max: 255 }, pattern: NON_EMPTY_PATTERN },
  CustomerIdentifier: { type: 'string', length: { min: 0, max: 255 }, pattern: ANY_PATTERN },
  CustomerAWSAccountId: { type: 'string', length: { min: 1, max: 255 }, pattern: /^[0-9]+$/ },
  LicenseArn: { type: 'string', pattern: LICENSE_ARN_PATTERN },
  ClientToken: { type: 'string', length: { min: 1, max: 64 } },
  NonEmptyString: { type: 'string', pattern: NON_EMPTY_PATTERN },
  Nonce: { type: 'string', length: { min: 0, max: 255 }, pattern: ANY_PATTERN },
  Timestamp: { type: 'timestamp' },
  Boolean: { type: 'boolean' },
} as const satisfies Record<string, Shape>;

/** Name of a shape in {@link SHAPES}. */
export type ShapeName = keyof typeof SHAPES;

/** Looks a shape up by name, typed as the general {@link Shape}. */
export function shapeOf(name: string): Shape {
  const shape = (SHAPES as Record<string, Shape>)[name];
  if (!shape) throw new Error(`Unknown shape ${name}: SHAPES is missing a target`);
  return shape;
}
