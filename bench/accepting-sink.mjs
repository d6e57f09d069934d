/** The adapter benches' sink: accepts every record, keeps nothing. */
import { groupIntoBatches } from '@meterkit/core/sink';

/** A sink that accepts every record and keeps nothing: the adapter benches measure the request path, not AWS. */
export const acceptingSink = {
  name: 'accepting',
  maxBatchSize: 25,
  planBatches: (records) => groupIntoBatches(records, { groupOf: (r) => r.key.productCode, maxRecords: 25 }),
  async export(records) {
    return {
      status: 'done',
      outcomes: records.map((r) => ({ id: r.id, status: 'success', meteringRecordId: undefined })),
    };
  },
};
