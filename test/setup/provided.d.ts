import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    wsProxyPort: number;
    blackholePort: number;
    /** Name of a migrated + seeded template database (clone it with CREATE DATABASE … TEMPLATE). */
    templateDatabase: string;
  }
}
