// Cloudflare Queues' size limits and the byte-exact arithmetic the batching sender packs by.
//
// Why bytes: a Queue message is limited in UTF-8 bytes of its serialized body (contentType 'json':
// JSON.stringify, UTF-8), not in JavaScript string length. A CJK character is one UTF-16 unit
// and three bytes; an emoji two units and four bytes; a control character one byte that JSON
// writes as six (\u0001). Sizing by .length once made six decisions a 237 KB message.
// Limits (developers.cloudflare.com/queues/limits, 1 KB = 1000 bytes): a message 128 KB,
// of which up to ~100 bytes are the queue's own metadata; a sendBatch 100 messages and 256 KB.

export const QUEUE_LIMITS = {
  messageBytes: 128_000,
  batchBytes: 256_000,
  batchMessages: 100,
} as const;

/** Kept free in every message for the queue's metadata (~100 B) and a margin of our own. */
export const MESSAGE_RESERVE_BYTES = 1_000;

/** The largest body we ever send: 127,000 bytes of JSON. */
export const MAX_MESSAGE_BODY_BYTES = QUEUE_LIMITS.messageBytes - MESSAGE_RESERVE_BYTES;

/**
 * Size of an envelope holding n items whose JSON sizes add up to itemBytes: JSON.stringify writes
 * an array as '[' + items joined by ',' + ']' with no whitespace, so this is exact for any
 * envelope whose only variable part is that array (`empty` = the envelope of no items).
 */
export const envelopeBytes = (empty: number, n: number, itemBytes: number): number => empty + itemBytes + Math.max(0, n - 1);

/**
 * Consecutive groups whose envelopes stay within maxBodyBytes. `alone` items (suspected of being
 * refused by the queue) travel in a group of their own, so they cannot take others down with them.
 * An item too big for any envelope also travels alone; callers refuse such items up front.
 */
export function pack<T extends { bytes: number; alone?: boolean }>(items: readonly T[], maxBodyBytes: number, emptyBytes = 0): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    if (item.alone) {
      groups.push([item]);
      continue;
    }
    if (current.length > 0 && envelopeBytes(emptyBytes, current.length + 1, size + item.bytes) > maxBodyBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += item.bytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * Consecutive sendBatch calls of at most batchMessages messages whose bodies plus each message's
 * reserve stay within batchBytes (two full 127 KB messages fit one call).
 */
export function batches<T>(messages: readonly T[], bytesOf: (m: T) => number, limits = QUEUE_LIMITS): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const m of messages) {
    const b = bytesOf(m) + MESSAGE_RESERVE_BYTES;
    if (current.length > 0 && (current.length >= limits.batchMessages || size + b > limits.batchBytes)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(m);
    size += b;
  }
  if (current.length > 0) out.push(current);
  return out;
}
