// The ranker: pure policies, seeded randomness, slates, propensities and OPE estimators.
// No I/O and no environment access: everything it needs is passed in.
export * from './types';
export * from './rng';
export * from './features';
export * from './epsilon-greedy';
export * from './safe';
export * from './rank';
export * from './ope';
