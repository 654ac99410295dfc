/**
 * XML for the embedded S3: response documents written with fast-xml-parser's builder from plain
 * object trees, and a reader for the small request documents (Delete, CompleteMultipartUpload).
 */
import { XMLBuilder, XMLParser } from 'fast-xml-parser';

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

/**
 * An element's content in fast-xml-parser's object model: text, child elements by tag (an array
 * repeats the tag; undefined leaves the element out), attributes as `@_name`.
 */
export type XmlContent = string | number | boolean | undefined | XmlElement | XmlElement[] | string[];
export interface XmlElement {
  [tag: string]: XmlContent;
}

/**
 * Escapes text and attribute values. `\r` becomes `&#13;` because XML parsers turn a literal CR into
 * LF, which would change keys that contain one; `'` needs no escape in text or double-quoted values.
 */
export function xmlEscape(value: string | number | boolean): string {
  return String(value).replace(/[&<>"\r]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#13;',
  );
}

// Values are escaped by xmlEscape, not by the builder, so that a CR survives (see above).
const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  processEntities: false,
  tagValueProcessor: (_name: string, value: unknown) => xmlEscape(value as string),
  attributeValueProcessor: (_name: string, value: unknown) => xmlEscape(value as string),
});

/** A whole document: the XML declaration, then `root` with the given children. */
export function xmlDocument(root: string, children: XmlElement, namespace?: string): string {
  const body = namespace === undefined ? children : { '@_xmlns': namespace, ...children };
  return XML_DECL + (builder.build({ [root]: body }) as string);
}

const REPEATED = new Set(['Object', 'Part']);
const parser = new XMLParser({
  ignoreAttributes: true,
  // Keys and ETags stay text: no numbers, no trimming.
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true,
  isArray: (name) => REPEATED.has(name),
});

/**
 * The root element of a small request document (Delete, CompleteMultipartUpload): elements by tag, text
 * entity-decoded, `Object` and `Part` always lists. Undefined when the document is not well-formed or
 * has another root.
 */
export function requestDocument(doc: string, root: string): Record<string, unknown> | undefined {
  let tree: Record<string, unknown>;
  try {
    tree = parser.parse(doc, true) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const element = tree[root];
  if (element === '') return {};
  return element !== null && typeof element === 'object' ? (element as Record<string, unknown>) : undefined;
}

/** A child element's text, when it is text. */
export const textOf = (element: Record<string, unknown>, tag: string): string | undefined =>
  typeof element[tag] === 'string' ? (element[tag] as string) : undefined;

/** A repeated child element's entries. */
export const entriesOf = (element: Record<string, unknown>, tag: string): Record<string, unknown>[] =>
  Array.isArray(element[tag])
    ? (element[tag] as unknown[]).map((e) =>
        e !== null && typeof e === 'object' ? (e as Record<string, unknown>) : {},
      )
    : [];
