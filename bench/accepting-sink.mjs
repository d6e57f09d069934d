/** A sink that accepts every record and keeps nothing: the adapter benches measure the request path, not AWS. */
export const acceptingSink = {
  name: 'accepting',
  maxBatchSize: 25,
  maxBatchBytes: 1_000_000,
  estimateRecordBytes: () => 300,
  async export(records) {
    return {
      status: 'done',
      outcomes: records.map((r) => ({ id: r.id, status: 'success', meteringRecordId: undefined })),
    };
  },
};
