// Tests read the guide through the same extractor the smoke command uses.
export * from '../../scripts/lib/guide';
