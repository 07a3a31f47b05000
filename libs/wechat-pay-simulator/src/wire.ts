import { buildXml } from 'nestjs-wechat-pay-v2/protocol';

export type WireFields = Record<string, string | number | undefined>;

export interface WireLayout {
  /** A newline after `<xml>` and after every element, as in captured notifications and answers. */
  newlines: boolean;
  /** Integers written as CDATA text, except the fields named in `bare`. */
  cdataIntegers: boolean;
  bare?: ReadonlySet<string>;
}

export const COMPACT: WireLayout = { newlines: false, cdataIntegers: false };

/**
 * A flat `<xml>` document in the given layout. Each element comes from the library's builder, so
 * CDATA escaping and field-name checks are the same as for every other message.
 */
export function renderXml(fields: Readonly<WireFields>, layout: WireLayout, root = 'xml'): string {
  const shaped: WireFields = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const asText = layout.cdataIntegers && typeof value === 'number' && !layout.bare?.has(name);
    shaped[name] = asText ? String(value) : value;
  }
  if (!layout.newlines) return buildXml(shaped, root);
  const elements = Object.entries(shaped).map(([name, value]) =>
    buildXml({ [name]: value }, root).slice(`<${root}>`.length, -`</${root}>`.length),
  );
  return `<${root}>\n${elements.map((element) => `${element}\n`).join('')}</${root}>`;
}
