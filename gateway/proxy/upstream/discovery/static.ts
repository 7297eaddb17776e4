import type { DiscoveredTarget, TargetSource, TargetsListener } from './source.ts';

/** The targets written in config: emitted once, synchronously, from start(). */
export class StaticSource implements TargetSource {
  readonly #targets: readonly DiscoveredTarget[];

  constructor(targets: readonly DiscoveredTarget[]) {
    this.#targets = targets.map((t) => ({ origin: t.origin, weight: t.weight }));
  }

  start(onTargets: TargetsListener): void {
    onTargets(this.#targets.map((t) => ({ ...t })));
  }

  stop(): void {}
}
