import {
  BadRequestException,
  Injectable,
  type PipeTransform,
  type ArgumentMetadata,
} from '@nestjs/common';

/** Deeper than any request of this API needs ({items:[{...}]} is 3), shallow enough to walk cheaply. */
export const MAX_JSON_DEPTH = 16;

/**
 * How deeply a parsed body nests, walked with an explicit stack: a body of thousands of levels
 * would overflow the call stack of any recursive walk, class-transformer's included.
 */
export function jsonDepthExceeds(value: unknown, maxDepth: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > maxDepth) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Refuses over-deep bodies before the validation pipe, which walks them recursively. */
@Injectable()
export class JsonDepthPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'body' && jsonDepthExceeds(value, MAX_JSON_DEPTH)) {
      throw new BadRequestException([`the body nests deeper than ${MAX_JSON_DEPTH} levels`]);
    }
    return value;
  }
}
