// Request body size cap as route middleware: over the limit → 413 in the error envelope, before
// anything is parsed. Field-level limits (array lengths, string sizes) are zod's job and answer 400.
import { bodyLimit } from 'hono/body-limit';
import { payloadTooLarge } from './errors';

export const maxBody = (bytes: number) =>
  bodyLimit({
    maxSize: bytes,
    onError: () => {
      throw payloadTooLarge(bytes);
    },
  });
