// The strict-body rule, applied centrally by createRouter() (src/lib/openapi.ts) to every route's
// JSON body schema:
//
//   Unknown fields in a JSON request body are REJECTED with 400 (code invalid_request, zod issue
//   `unrecognized_keys` naming them), at every depth. A schema that wants free-form content says
//   so explicitly: z.looseObject()/.passthrough() (or z.record()) are left as they are.
//   Query strings are NOT strict: unknown query parameters are ignored (caches and proxies add
//   their own); known ones are validated by their schemas.
//
// Why reject instead of strip: a client that misspells `limit` as `limt` should hear about it, and
// a field we silently drop today may mean something dangerous tomorrow.
//
// The strict copy is used for validation only; the OpenAPI document keeps the schema as written
// (so named components and their metadata are untouched).
import { z } from 'zod';

type Schema = z.core.$ZodType;

/** A deep copy of `schema` in which every default (stripping) object rejects unknown keys. */
export function strictify<T extends Schema>(schema: T): T {
  return (walk(schema) ?? schema) as T;
}

/** Returns a new schema if anything below changed, undefined otherwise. */
function walk(schema: Schema): Schema | undefined {
  // biome-ignore lint/suspicious/noExplicitAny: zod's internal definitions differ per schema type; walked by `type`
  const def = schema._zod.def as unknown as Record<string, any> & { type: string };
  const clone = (patch: Record<string, unknown>) => z.core.clone(schema, { ...def, ...patch } as typeof schema._zod.def);
  switch (def.type) {
    case 'object': {
      let changed = false;
      const shape: Record<string, Schema> = {};
      for (const [key, value] of Object.entries(def.shape as Record<string, Schema>)) {
        const next = walk(value);
        if (next) changed = true;
        shape[key] = next ?? value;
      }
      // catchall undefined = zod's default "strip"; never = already strict; anything else = explicit opt-in.
      const strip = def.catchall === undefined;
      if (!changed && !strip) return undefined;
      return clone({ shape, ...(strip ? { catchall: z.never() } : {}) });
    }
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'readonly':
    case 'catch': {
      const inner = walk(def.innerType);
      return inner && clone({ innerType: inner });
    }
    case 'array': {
      const element = walk(def.element);
      return element && clone({ element });
    }
    case 'record': {
      const valueType = walk(def.valueType);
      return valueType && clone({ valueType });
    }
    case 'tuple': {
      const items = (def.items as Schema[]).map((s) => walk(s));
      return items.some(Boolean) ? clone({ items: items.map((s, i) => s ?? def.items[i]) }) : undefined;
    }
    case 'union': {
      const options = (def.options as Schema[]).map((s) => walk(s));
      return options.some(Boolean) ? clone({ options: options.map((s, i) => s ?? def.options[i]) }) : undefined;
    }
    case 'pipe': {
      // z.object(...).transform(...) is a pipe: the input side is what the client sent.
      const input = walk(def.in);
      return input && clone({ in: input });
    }
    // Intersections combine objects that each know only part of the keys: making either side
    // strict would reject the other's fields, so they are left as written. Lazy schemas too.
    default:
      return undefined;
  }
}
