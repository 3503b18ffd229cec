// One simulated learning run: the real ranker (rank()) serves a synthetic population, rewards are
// Bernoulli(hidden rate), and every `rollupEvery` decisions the learned per-candidate stats are
// handed back to the ranker — the */5 rollup + hydrate-features of production. Every decision is
// added to the OPE sums of every target, and the target's exact expected slate reward on that
// decision's candidates and scores (sim-truth.ts) to its truth: the same estimand as the estimators.
import {
  addDecision,
  better,
  type CandidateStats,
  emptySums,
  type OpeItem,
  type OpeSums,
  type OpeTarget,
  type RankFeatures,
  rank,
  scoreRequestCandidates,
} from '../../src/ranker';
import { epsilonGreedySlateValue } from './sim-truth';
import { seeded, simDecisionId, slateValue, type World } from './sim-world';

export interface SimConfig {
  slate: number;
  epsilon: number;
  rollupEvery: number;
  targets: readonly OpeTarget[];
}

export interface Checkpoint {
  t: number;
  regret: number;
  regretUniform: number;
  explored: number;
  items: number;
}

export interface RunResult {
  checkpoints: Checkpoint[];
  sums: Map<string, OpeSums>;
  /** Per target: Σ over decisions of its exact expected slate reward; / items = the truth per impression. */
  truth: Map<string, number>;
  items: number;
  decisions: number;
}

/** Each target's exact expected slate reward on the current candidates and exploit scores. */
function targetValues(world: World, cfg: SimConfig, features: RankFeatures): Map<string, number> {
  const scored = scoreRequestCandidates(
    world.ids.map((id) => ({ id })),
    features,
  );
  const rates = [...scored].sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0)).map((c) => world.rate.get(c.id)!);
  return new Map(cfg.targets.map((t) => [t.name, epsilonGreedySlateValue(rates, cfg.slate, t.epsilon ?? cfg.epsilon)]));
}

export function runSim(world: World, cfg: SimConfig, n: number, seed: string, checkpointsAt: readonly number[] = []): RunResult {
  const counts = new Map<string, CandidateStats>();
  let features: RankFeatures = { surface: { meanReward: 0, stats: new Map(), popular: [], recent: [] } };
  let values = targetValues(world, cfg, features);
  const candidates = world.ids.map((id) => ({ id }));
  const rewardRng = seeded(`rewards:${seed}`);
  const sums = new Map(cfg.targets.map((t) => [t.name, emptySums()]));
  const truth = new Map(cfg.targets.map((t) => [t.name, 0]));
  const out: RunResult = { checkpoints: [], sums, truth, items: 0, decisions: n };
  let regret = 0,
    regretUniform = 0,
    explored = 0,
    rewardTotal = 0;

  for (let i = 0; i < n; i++) {
    if (i % cfg.rollupEvery === 0 && i > 0) {
      // The */5 rollup + hydrate-features: the ranker sees the stats as of now.
      features = {
        surface: {
          meanReward: out.items ? rewardTotal / out.items : 0,
          stats: new Map([...counts].map(([k, v]) => [k, { ...v }])),
          popular: [],
          recent: [],
        },
      };
      values = targetValues(world, cfg, features);
    }
    const d = rank({
      decisionId: simDecisionId(seed, i),
      limit: cfg.slate,
      policy: { version: 'epsilon_greedy_v1', epsilon: cfg.epsilon },
      safeMode: false,
      candidates,
      features,
    });
    regret +=
      world.oracle -
      slateValue(
        world,
        d.items.map((it) => it.candidate_id),
      );
    regretUniform += world.oracle - world.uniform;

    const logged: OpeItem[] = d.items.map((it) => {
      const r = rewardRng() < world.rate.get(it.candidate_id)! ? 1 : 0;
      const c = counts.get(it.candidate_id) ?? { impressions: 0, rewardSum: 0 };
      c.impressions++;
      c.rewardSum += r;
      counts.set(it.candidate_id, c);
      rewardTotal += r;
      out.items++;
      if (it.explored) explored++;
      return {
        position: it.position,
        p_exp: it.p_exp,
        is_greedy: it.ope!.is_greedy,
        n_remaining: it.ope!.n_remaining,
        reward: r,
        q_hat: it.score,
        q_greedy: it.ope!.q_greedy,
        q_mean: it.ope!.q_mean,
      };
    });
    for (const t of cfg.targets) {
      addDecision(sums.get(t.name)!, logged, t);
      truth.set(t.name, truth.get(t.name)! + values.get(t.name)!);
    }
    if (checkpointsAt.includes(i + 1)) out.checkpoints.push({ t: i + 1, regret, regretUniform, explored, items: out.items });
  }
  return out;
}
