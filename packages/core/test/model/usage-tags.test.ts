import { type UsageTags } from '@meterkit/core';
import { checkTags } from '@meterkit/core/adapter';
import { sealAllocations, tagSetIdOf, tagsOfSetId } from '@meterkit/core/store';
import { describe, expect, it } from 'vitest';
import { MAX_ALLOCATIONS_PER_RECORD } from '../../src/model/usage-tags.js';
import { alice, setup } from '../helpers.js';

describe('checkTags()', () => {
  it('accepts keys of 1 to 100 and values of 1 to 256 characters', () => {
    expect(checkTags({ ['k'.repeat(100)]: 'v'.repeat(256), a: 'b' })).toBeUndefined();
    expect(checkTags({ ['k'.repeat(101)]: 'v' })).toMatch(/tag key/);
    expect(checkTags({ k: 'v'.repeat(257) })).toMatch(/value of tag "k"/);
    expect(checkTags({ k: '' })).toMatch(/value of tag "k"/);
    expect(checkTags({ '': 'v' })).toMatch(/tag key/);
  });

  it("follows the model's pattern exactly, its space-to-equals range included", () => {
    expect(checkTags({ 'cost-center': 'a+b c=d._:/@' })).toBeUndefined();
    expect(checkTags({ k: '!"#$%&\'()*,;<' })).toBeUndefined();
    for (const refused of ['>', '?', '~', '[', ']', '{', '}', 'é', '\n'])
      expect(checkTags({ k: `a${refused}` })).toMatch(/matching/);
  });

  it('refuses more than five tags and anything that is not a plain object of strings', () => {
    expect(checkTags({ a: '1', b: '2', c: '3', d: '4', e: '5' })).toBeUndefined();
    expect(checkTags({ a: '1', b: '2', c: '3', d: '4', e: '5', f: '6' })).toMatch(/at most 5 tags/);
    expect(checkTags(null)).toMatch(/object/);
    expect(checkTags(['a'])).toMatch(/object/);
    expect(checkTags({ k: 7 } as unknown as UsageTags)).toMatch(/value of tag "k"/);
  });
});

describe('tagSetIdOf()', () => {
  it('gives one id to the same tags written in any order, and reads back to the tags', () => {
    const id = tagSetIdOf({ team: 'ops', project: 'beta' });
    expect(tagSetIdOf({ project: 'beta', team: 'ops' })).toBe(id);
    expect(tagsOfSetId(id)).toEqual([
      { key: 'project', value: 'beta' },
      { key: 'team', value: 'ops' },
    ]);
    expect(tagSetIdOf({})).toBe('');
  });
});

describe('sealAllocations()', () => {
  const alpha = tagSetIdOf({ project: 'alpha' });
  const beta = tagSetIdOf({ project: 'beta' });

  it('puts what is not tagged in an untagged allocation first, then tag sets in order', () => {
    const split = sealAllocations(
      10,
      new Map([
        [beta, 3],
        [alpha, 4],
      ]),
      100,
    );
    expect(split).toEqual({
      parts: [
        ['', 3],
        [alpha, 4],
        [beta, 3],
      ],
      carried: [],
      rolledUp: 0,
    });
  });

  it('keeps all 2,500 places for tag sets when nothing is untagged', () => {
    const tagged = new Map<string, number>();
    for (let i = 0; i < MAX_ALLOCATIONS_PER_RECORD; i++) tagged.set(tagSetIdOf({ n: String(i) }), 1);
    const split = sealAllocations(MAX_ALLOCATIONS_PER_RECORD, tagged, 1e9);
    expect(split.parts).toHaveLength(MAX_ALLOCATIONS_PER_RECORD);
    expect(split.rolledUp).toBe(0);
  });

  it('fills allocations up to the maximum and carries the excess of each tag set', () => {
    const split = sealAllocations(
      12,
      new Map([
        [alpha, 5],
        [beta, 5],
      ]),
      8,
    );
    expect(split.parts).toEqual([
      ['', 2],
      [alpha, 5],
      [beta, 1],
    ]);
    expect(split.carried).toEqual([[beta, 4]]);
  });
});

describe('record() with tags', () => {
  it('counts usage with invalid tags untagged and says why in usage.tags-dropped', async () => {
    const ctx = setup();
    const dropped: string[] = [];
    ctx.engine.events.on('usage.tags-dropped', (e) => dropped.push(e.detail));
    expect(ctx.engine.record(alice, 'api_calls', 3, undefined, { project: 'a?b' })).toBe(true);
    expect(ctx.engine.record(alice, 'api_calls', 2, undefined, { project: 'alpha' })).toBe(true);
    await ctx.clock.run(ctx.engine.shutdown());
    const [billed] = [...ctx.sink.ledger.values()].map((b) => b.record);
    expect(billed?.quantity).toBe(5);
    expect(billed?.allocations).toEqual([
      { tags: [], quantity: 3 },
      { tags: [{ key: 'project', value: 'alpha' }], quantity: 2 },
    ]);
    expect(dropped).toEqual([expect.stringMatching(/value of tag "project"/)]);
  });

  it('seals tagged usage of earlier hours into those hours, with their allocations', async () => {
    const ctx = setup();
    const earlier = ctx.clock.now() - 60 * 60 * 1000;
    ctx.engine.record(alice, 'api_calls', 4, earlier, { project: 'alpha' });
    ctx.engine.record(alice, 'api_calls', 1, earlier);
    await ctx.clock.run(ctx.engine.shutdown());
    const records = [...ctx.sink.ledger.values()].map((b) => b.record);
    expect(records.map((r) => [r.hourStart, r.quantity, r.allocations?.length])).toEqual([
      [earlier - (earlier % (60 * 60 * 1000)), 5, 2],
    ]);
  });

  it('reports tag sets billed untagged past the per-record limits in allocations.rolled-up', async () => {
    const ctx = setup();
    const rolled: number[] = [];
    ctx.engine.events.on('allocations.rolled-up', (e) => rolled.push(e.tagSets));
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f'])
      ctx.engine.record(alice, 'api_calls', 1, undefined, { [key]: 'x' });
    await ctx.clock.run(ctx.engine.shutdown());
    const [billed] = [...ctx.sink.ledger.values()].map((b) => b.record);
    expect(billed?.quantity).toBe(6);
    expect(billed?.allocations?.[0]).toEqual({ tags: [], quantity: 1 });
    expect(rolled).toEqual([1]);
  });

  it('refuses tagged usage of a customer it cannot bill, as untagged usage would be', () => {
    const ctx = setup();
    const reasons: string[] = [];
    ctx.engine.events.on('usage.rejected', (e) => reasons.push(e.reason));
    expect(
      ctx.engine.record({ customerIdentifier: '' }, 'api_calls', 1, undefined, { project: 'alpha' }),
    ).toBe(false);
    expect(reasons).toEqual(['invalid-customer']);
  });
});
