// The ranker: pure policies, seeded randomness, slates, propensities and OPE estimators.
// No I/O and no environment access: everything it needs is passed in.

export * from './epsilon-greedy';
export * from './features';
export * from './ope';
export * from './ope-estimates';
export * from './rank';
export * from './rng';
export * from './safe';
export * from './types';
