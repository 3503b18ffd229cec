// UTF-8 sizes without encoding: what Queues and the API's byte limits measure (a CJK character is
// one UTF-16 unit but three bytes, an emoji two units and four bytes).

/** UTF-8 length of a string (a lone surrogate counts as U+FFFD, three bytes, as TextEncoder writes it). */
export function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Size of a value serialized as JSON (what a `contentType: 'json'` queue message body weighs). */
export const jsonBytes = (value: unknown): number => utf8Bytes(JSON.stringify(value));
