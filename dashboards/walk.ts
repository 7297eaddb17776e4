// Reads generated dashboards back for the tests: panels (rows flattened away),
// template variables, and every PromQL expression.
import { buildDashboards } from './src/render.ts';

export interface Target {
  refId?: string;
  datasource?: { type?: string; uid?: string };
  expr?: string;
  rawSql?: string;
}
export interface Panel {
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
export interface Variable {
  type: string;
  name: string;
  query?: unknown;
  datasource?: { type?: string };
}

export function panelsOf(dashboard: { panels?: unknown[] }): Panel[] {
  return ((dashboard.panels ?? []) as Panel[]).flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
}

export function variablesOf(dashboard: { templating?: { list?: unknown[] } }): Variable[] {
  return (dashboard.templating?.list ?? []) as Variable[];
}

/** Panel target expressions, plus the metric of each Prometheus label_values() variable. */
export function prometheusExpressions(): string[] {
  const exprs: string[] = [];
  for (const dashboard of buildDashboards()) {
    for (const panel of panelsOf(dashboard)) {
      for (const t of panel.targets ?? []) if (t.expr !== undefined) exprs.push(t.expr);
    }
    for (const v of variablesOf(dashboard)) {
      const m =
        v.datasource?.type === 'prometheus' && typeof v.query === 'string'
          ? /^label_values\((\w+),/.exec(v.query)
          : null;
      if (m) exprs.push(m[1]);
    }
  }
  return exprs;
}
