import { describe, expect, it } from 'vitest';
import { SHAPES, shapeOf } from '../src/shapes.js';

describe('SHAPES', () => {
  it('defines every shape its members and lists target', () => {
    for (const shape of Object.values(SHAPES)) {
      const targets =
        'members' in shape
          ? Object.values(shape.members).map((m) => m.target)
          : 'member' in shape
            ? [shape.member]
            : [];
      for (const target of targets) expect(() => shapeOf(target)).not.toThrow();
    }
  });
});
