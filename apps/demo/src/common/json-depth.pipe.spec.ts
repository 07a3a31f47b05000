import { BadRequestException } from '@nestjs/common';
import { JsonDepthPipe, MAX_JSON_DEPTH, jsonDepthExceeds } from './json-depth.pipe';

function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

describe('jsonDepthExceeds', () => {
  it('counts objects and arrays as levels, and scalars as none', () => {
    expect(jsonDepthExceeds(1, 0)).toBe(false);
    expect(jsonDepthExceeds({ items: [{ productId: 1 }] }, 3)).toBe(false);
    expect(jsonDepthExceeds({ items: [{ productId: 1 }] }, 2)).toBe(true);
  });

  it('walks a body 100,000 levels deep without overflowing the stack', () => {
    expect(jsonDepthExceeds(nested(100_000), MAX_JSON_DEPTH)).toBe(true);
  });
});

describe('JsonDepthPipe', () => {
  const pipe = new JsonDepthPipe();

  it('refuses a body deeper than the limit with a 400', () => {
    expect(() => pipe.transform(nested(MAX_JSON_DEPTH + 1), { type: 'body' })).toThrow(
      BadRequestException,
    );
  });

  it('passes a body at the limit, and leaves query and path parameters alone', () => {
    const atLimit = nested(MAX_JSON_DEPTH);
    expect(pipe.transform(atLimit, { type: 'body' })).toBe(atLimit);
    const deep = nested(MAX_JSON_DEPTH + 1);
    expect(pipe.transform(deep, { type: 'query' })).toBe(deep);
  });
});
