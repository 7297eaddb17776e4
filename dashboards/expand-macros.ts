/**
 * Expands the Grafana template variables and ClickHouse-plugin macros the
 * tenant traffic dashboard uses, the way Grafana and the plugin would, so its
 * SQL can be run against a real ClickHouse in tests. Deliberately small: a query
 * that needs a macro not handled here fails the test with the leftover `$`, and
 * whoever adds it checks that its expansion runs on ClickHouse 18.16 too.
 */
export interface MacroContext {
  fromS: number;
  toS: number;
  /** Variable name → selected values; `null` means "All". */
  variables: Record<string, string[] | null>;
}

const toDateTime = (s: number) => `toDateTime(${Math.floor(s)})`;
// Grafana's `singlequote` format: each value quoted, a quote inside escaped with a backslash.
const singleQuote = (values: string[]) => values.map((v) => `'${v.replaceAll("'", "\\'")}'`).join(',');

export function expandMacros(sql: string, ctx: MacroContext): string {
  let out = expandConditionalAll(sql, ctx);
  out = out.replace(
    /\$\{(\w+)(?::(\w+))?\}|\$(\w+)/g,
    (whole, braced: string, format: string | undefined, bare: string) => {
      const name = braced ?? bare;
      if (name === '__fromTime') return toDateTime(ctx.fromS);
      if (name === '__toTime') return toDateTime(ctx.toS);
      if (!(name in ctx.variables)) return whole;
      const values = ctx.variables[name];
      if (values === null) throw new Error(`\${${name}} is "All" outside $__conditionalAll: ${sql}`);
      return format === 'singlequote' || values.length > 1 ? singleQuote(values) : values[0];
    },
  );
  return out;
}

/** `$__conditionalAll(condition, $var)` → `1=1` when $var is "All", else the condition (plugin semantics). */
function expandConditionalAll(sql: string, ctx: MacroContext): string {
  const macro = '$__conditionalAll(';
  let out = sql;
  for (let start = out.indexOf(macro); start !== -1; start = out.indexOf(macro)) {
    let depth = 1;
    let end = start + macro.length;
    for (; depth > 0; end++) {
      if (end >= out.length) throw new Error(`unbalanced $__conditionalAll in: ${sql}`);
      if (out[end] === '(') depth++;
      if (out[end] === ')') depth--;
    }
    const args = out.slice(start + macro.length, end - 1);
    const comma = args.lastIndexOf(',');
    const condition = args.slice(0, comma).trim();
    const variable = args
      .slice(comma + 1)
      .trim()
      .replace(/^\$\{?(\w+)\}?$/, '$1');
    const replacement = ctx.variables[variable] === null ? '1=1' : condition;
    out = out.slice(0, start) + replacement + out.slice(end);
  }
  return out;
}
