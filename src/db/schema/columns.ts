// Column helpers shared by the table files.
import { customType, timestamp } from 'drizzle-orm/pg-core';

export const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
/** A 64-bit transaction id (learning rollup watermarks); read and written as text. */
export const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' });
