/**
 * XML for the embedded S3: response documents written with fast-xml-parser's builder from plain
 * object trees, and a reader for the small request documents (Delete, CompleteMultipartUpload).
 */
import { j2xParser } from 'fast-xml-parser';

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

// fast-xml-parser 3.x escapes nothing itself: the processors do it
const builder = new j2xParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  tagValueProcessor: (v: string | number | boolean) => xmlEscape(v),
  attrValueProcessor: (v: string) => xmlEscape(v),
});

/** A whole document: the XML declaration, then `root` with the given children. */
export function xmlDocument(root: string, children: XmlElement, namespace?: string): string {
  const body = namespace === undefined ? children : { '@_xmlns': namespace, ...children };
  return XML_DECL + (builder.parse({ [root]: body }) as string);
}

export function xmlUnescape(value: string): string {
  return value.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, e: string) => {
    switch (e) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default:
        return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

/** Text of every `<tag>…</tag>` element in a small XML document (not entity-decoded). Not a general parser. */
export function xmlElements(doc: string, tag: string): string[] {
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, 'g');
  const out: string[] = [];
  for (let m = re.exec(doc); m; m = re.exec(doc)) out.push(m[1]);
  return out;
}
export function xmlText(doc: string, tag: string): string | undefined {
  const all = xmlElements(doc, tag);
  return all.length ? xmlUnescape(all[0]) : undefined;
}
