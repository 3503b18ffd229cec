import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    wsProxyPort: number;
    blackholePort: number;
  }
}
