// Worker tests parse the guide with the same code the smoke command uses.
export * from '../../scripts/lib/guide-text';
