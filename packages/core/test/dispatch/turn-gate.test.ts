import { describe, expect, it } from 'vitest';
import { TurnGate } from '../../src/dispatch/turn-gate.js';

/** Counts event-loop turns (check phases) until stopped. */
function turnCounter() {
  const counter = { turn: 0, stopped: false };
  const tick = () => {
    counter.turn += 1;
    if (!counter.stopped) setImmediate(tick);
  };
  setImmediate(tick);
  return counter;
}

describe('TurnGate', () => {
  it('never lets two units of work share a turn, even when their tasks resume together', async () => {
    const gate = new TurnGate();
    const counter = turnCounter();
    const turnsSeen: number[] = [];
    const task = async () => {
      for (let unit = 0; unit < 3; unit++) {
        await gate.next();
        turnsSeen.push(counter.turn);
      }
    };
    await Promise.all([task(), task(), task()]);
    counter.stopped = true;
    expect(turnsSeen).toHaveLength(9);
    expect(new Set(turnsSeen).size).toBe(9);
  });

  it('serves callers in the order they asked', async () => {
    const gate = new TurnGate();
    const order: string[] = [];
    await Promise.all(['a', 'b', 'c'].map((name) => gate.next().then(() => order.push(name))));
    expect(order).toEqual(['a', 'b', 'c']);
  });
});
