import {
  AOP,
  BY,
  CMT,
  COMMA,
  F,
  FROM,
  LIT,
  lex,
  LOGIC,
  LP,
  N,
  NOT,
  OP,
  ORDER,
  RP,
  S,
  SELECT,
  SEMI,
  SO,
  text,
  type,
  UNION,
  VAR,
  VERB,
  W,
} from './sql-lexer.ts';

/**
 * SQL injection by structure, not by keyword: the value is lexed in each
 * context a query may put it in (sql-lexer.ts), and scored by token
 * sequences an attacker needs and ordinary text does not make:
 * - a context break followed by a tautology (`' or 1=1`, `1 and 'a'='a'`),
 *   a comment that truncates the query (`admin'--`), `order by n`, `union`;
 * - `union [all] select` with a select list;
 * - a stacked statement (`; drop table`, `; exec xp_…`, `; declare @`);
 * - time functions (`sleep(5)`, `benchmark(…)`, `waitfor delay`, `pg_sleep`)
 *   and catalogue/error probes (`information_schema.`, `@@version`,
 *   `extractvalue(`, `load_file(`, `into outfile`).
 * STRONG findings alone are enough; MEDIUM ones (e.g. `sleep(3)`, which is
 * also a man page) need a weak SQL signal beside them.
 */
const THRESHOLD = 3;
const STRONG = 3;
const MEDIUM = 2;

let n = 0;
let quoted = false;

function wordAt(i: number, w: string): boolean {
  return i < n && text[i] === w;
}

/** Index after the group opened at `i` (an LP), or n when the input ends first (the application closes it). */
function skipGroup(i: number): number {
  let depth = 0;
  for (; i < n; i++) {
    if (type[i] === LP) depth++;
    else if (type[i] === RP && --depth === 0) return i + 1;
  }
  return n;
}

/** What ends a value expression (a literal, a variable, a call, a group), or -1. Sets lastKind. */
let lastKind = 0;
function operandEnd(i: number): number {
  while (i < n && (type[i] === NOT || (type[i] === AOP && (text[i] === '-' || text[i] === '+' || text[i] === '~'))))
    i++;
  if (i >= n) return -1;
  const t = type[i];
  lastKind = t;
  if (t === LP) return skipGroup(i);
  if (t === F) return i + 1 < n && type[i + 1] === LP ? skipGroup(i + 1) : i + 1;
  if (t === N || t === S || t === SO || t === LIT || t === VAR || t === W) {
    // a.b || 'x', 1+1: one arithmetic step keeps it one operand
    if (i + 2 < n && type[i + 1] === AOP && (type[i + 2] === N || type[i + 2] === S || type[i + 2] === F))
      return operandEnd(i + 2);
    return i + 1;
  }
  return -1;
}

/** After a complete condition: the end of the value, a comment, another clause. */
function tailOk(i: number): boolean {
  while (i < n && type[i] === RP) i++;
  if (i >= n) return true;
  const t = type[i];
  return t === CMT || t === SEMI || t === LOGIC || t === UNION || t === ORDER || t === SO || wordAt(i, 'limit');
}

/** LOGIC at i followed by a condition that is always true/false or probes data. */
function tautology(i: number): number {
  let o = i + 1;
  // `or (1=1`: an opening parenthesis is transparent unless it opens a subquery
  while (o + 1 < n && type[o] === LP && type[o + 1] !== SELECT) o++;
  const j = operandEnd(o);
  if (j < 0) return 0;
  const kind = lastKind;
  if (j < n && type[j] === OP) {
    const k = operandEnd(j + 1);
    return k >= 0 && tailOk(k) ? STRONG : 0;
  }
  // `' or 1--`, `' or true`: a bare truthy value that ends the query; never a bare word ("5 or more").
  if (kind === W) return 0;
  if (j < n && (type[j] === CMT || type[j] === SEMI)) return STRONG;
  if (quoted && j >= n && kind !== SO && kind !== S) return STRONG;
  // `' or exists(select …) and ''='`: a call or subquery used as the condition
  return kind === F || kind === LP ? (tailOk(j) ? (quoted ? STRONG : MEDIUM) : 0) : 0;
}

/** A select list right after SELECT at i: `1`, `null`, `*`, `user()`, `a,b`, `a from`. */
function selectList(i: number): boolean {
  while (i < n && type[i] === LP) i++;
  if (wordAt(i, 'all') || wordAt(i, 'distinct')) i++;
  if (i >= n) return false;
  const t = type[i];
  if (t === N || t === LIT || t === VAR || t === F || t === S || t === SO || (t === AOP && text[i] === '*'))
    return true;
  return t === W && i + 1 < n && (type[i + 1] === COMMA || type[i + 1] === FROM);
}

function unionSelect(i: number, afterBreak: boolean): number {
  let j = i + 1;
  if (wordAt(j, 'all') || wordAt(j, 'distinct') || wordAt(j, 'distinctrow')) j++;
  while (j < n && type[j] === LP) j++;
  if (j >= n || type[j] !== SELECT) return 0;
  return afterBreak || selectList(j + 1) ? STRONG : 0;
}

const DROP_OBJECTS = new Set(
  'table database schema view user index procedure function trigger column login role'.split(' '),
);

/** A statement verb at i with the words that make it a statement. */
function statement(i: number): number {
  const v = text[i];
  const next = i + 1 < n ? text[i + 1] : '';
  switch (v) {
    case 'drop':
    case 'alter':
    case 'create':
      return DROP_OBJECTS.has(next) ? STRONG : 0;
    case 'truncate':
    case 'rename':
      return next === 'table' ? STRONG : 0;
    case 'delete':
      return i + 1 < n && type[i + 1] === FROM ? STRONG : 0;
    case 'insert':
      return next === 'into' ? STRONG : 0;
    case 'update':
      return i + 2 < n && type[i + 1] === W && text[i + 2] === 'set' ? STRONG : 0;
    case 'exec':
    case 'execute':
      if (i + 1 >= n) return 0;
      return type[i + 1] === VAR || type[i + 1] === LP || type[i + 1] === S || /^(?:xp_|sp_|master\.|sys\.)/.test(next)
        ? STRONG
        : 0;
    case 'declare':
      return i + 1 < n && type[i + 1] === VAR ? STRONG : 0;
    case 'shutdown':
      return i + 1 >= n || type[i + 1] === CMT || type[i + 1] === SEMI || next === 'with' ? STRONG : 0;
    case 'waitfor':
      return next === 'delay' || next === 'time' ? STRONG : 0;
    // PostgreSQL: copy (select …) to program '…' / copy t from '/etc/passwd'
    case 'copy':
      return i + 1 < n && (type[i + 1] === LP || (type[i + 1] === W && (text[i + 2] === 'to' || type[i + 2] === FROM)))
        ? STRONG
        : 0;
  }
  return 0;
}

/** `a|b|c` of the words, for patterns too long to read as one literal. */
const alternatives = (words: string): string => words.trim().split(/\s+/).join('|');
const CATALOGUE = new RegExp(
  '^(?:' +
    alternatives(`information_schema sysobjects syscolumns sysusers sysdatabases sqlite_master sqlite_schema
      pg_shadow pg_user pg_catalog pg_tables mysql\\.user all_tables user_tables all_tab_columns user_tab_columns
      msysobjects sys\\.(?:tables|objects|columns|databases|sql_logins) master\\.(?:dbo|sys)`) +
    ')',
);
const SYSTEM_PROCS = new RegExp(
  String.raw`(?:^|\.)(?:` +
    alternatives(
      'xp_cmdshell xp_regread xp_dirtree xp_fileexist sp_executesql sp_oacreate sp_makewebtask sp_password',
    ) +
    '|sp_configure)$',
);
const WEAK_FUNCS = new Set(
  `if iif case version database user current_user system_user schema char chr concat concat_ws
    group_concat ascii substring substr mid hex unhex cast convert count floor rand md5 exists length`.split(/\s+/),
);

/** The score of the value lexed as `quote` context (0, 39 `'`, 34 `"`). */
function scoreContext(s: string, quote: number): number {
  n = lex(s, quote);
  quoted = quote !== 0;
  if (quoted && type[0] === SO) return 0; // the whole value stays inside the string
  let strong = 0;
  let medium = 0;
  let weak = 0;
  // The context break: the value ends the string (quoted) or the number (as it stands) and goes on as SQL.
  // A leading sign belongs to the number: `-1 or 1=1`.
  const b = !quoted && n > 2 && type[0] === AOP && (text[0] === '-' || text[0] === '+') ? 1 : 0;
  let p = b + 1;
  const broke = quoted ? type[0] === S : n > b + 1 && (type[b] === N || type[b] === VAR);
  if (broke) {
    while (p < n && type[p] === RP) p++;
    if (p < n) {
      const t = type[p];
      if (t === LOGIC) strong = tautology(p);
      else if (t === OP) {
        let q = p + 1;
        while (q < n && type[q] === LP) q++;
        const k = operandEnd(p + 1);
        // `1 rlike (select …)`: compared with a subquery
        if (q > p + 1 && q < n && type[q] === SELECT) strong = STRONG;
        // `'='`, `' like '%`: the compared value is a literal, not a word ("between camera")
        else if (k >= 0 && lastKind !== W && (quoted ? tailOk(k) : k < n && (type[k] === CMT || type[k] === LOGIC)))
          strong = STRONG;
      } else if (t === CMT) strong = quoted || p > b + 1 ? STRONG : 0;
      else if (t === SEMI) strong = p + 1 < n && type[p + 1] === CMT ? STRONG : 0;
      else if (t === UNION) strong = unionSelect(p, true);
      else if (t === ORDER && p + 2 < n && type[p + 1] === BY) {
        const b = type[p + 2];
        if (
          (b === N || (quoted && b === W)) &&
          (p + 3 >= n ||
            type[p + 3] === CMT ||
            type[p + 3] === COMMA ||
            type[p + 3] === SEMI ||
            type[p + 3] === LOGIC ||
            wordAt(p + 3, 'limit'))
        )
          strong = STRONG;
      }
      if (t !== W && t !== N && t !== S) weak++;
    }
  }
  for (let i = 0; i < n && strong < THRESHOLD; i++) {
    const t = type[i];
    const w = text[i];
    switch (t) {
      case UNION:
        strong = Math.max(strong, unionSelect(i, false));
        break;
      case SEMI:
        if (i + 1 < n && type[i + 1] === VERB) strong = Math.max(strong, statement(i + 1));
        else if (i + 1 < n && type[i + 1] === SELECT && selectList(i + 2)) strong = STRONG;
        weak++;
        break;
      case VERB:
        if (w === 'waitfor') strong = Math.max(strong, statement(i));
        break;
      case LOGIC:
      case CMT:
      case SELECT:
        weak++;
        break;
      case VAR:
        if (w.startsWith('@@'))
          medium = Math.max(
            medium,
            /^@@(?:version|datadir|hostname|basedir|servername|language|spid|tmpdir|global\.)/.test(w)
              ? STRONG
              : MEDIUM,
          );
        break;
      case F:
        if (w === 'sleep') {
          const a = i + 2 < n ? type[i + 2] : 0;
          if (a === N || a === LP || a === SELECT || a === F) medium = Math.max(medium, MEDIUM);
        } else if (w === 'benchmark') {
          if (i + 3 < n && type[i + 2] === N && type[i + 3] === COMMA) strong = STRONG;
        } else if (
          w === 'pg_sleep' ||
          w === 'dbms_lock.sleep' ||
          w === 'dbms_pipe.receive_message' ||
          w === 'extractvalue' ||
          w === 'updatexml' ||
          w === 'load_file' ||
          w === 'utl_inaddr.get_host_name' ||
          w === 'utl_http.request'
        ) {
          strong = STRONG;
        } else if (w === 'randomblob' || w === 'dbms_xmlgen.getxml') medium = Math.max(medium, MEDIUM);
        else if (WEAK_FUNCS.has(w)) weak++;
        else if (w.indexOf('_') !== -1 && SYSTEM_PROCS.test(w)) strong = STRONG;
        break;
      case W:
        // every catalogue and system-procedure name has `_` or `.`, or starts with sys/msys; most words have none
        if (
          w.indexOf('_') === -1 &&
          w.indexOf('.') === -1 &&
          !w.startsWith('sys') &&
          !w.startsWith('msys') &&
          w !== 'into'
        )
          break;
        if (w === 'into' && (wordAt(i + 1, 'outfile') || wordAt(i + 1, 'dumpfile'))) strong = STRONG;
        else if (SYSTEM_PROCS.test(w)) strong = STRONG;
        else if (CATALOGUE.test(w)) {
          // information_schema.tables or FROM sysobjects reads the catalogue; the bare word is a topic.
          const read = (i > 0 && type[i - 1] === FROM) || w.indexOf('.') !== -1;
          medium = Math.max(medium, read ? STRONG : 1);
        }
        break;
    }
  }
  if (strong >= THRESHOLD) return strong;
  if (medium >= THRESHOLD) return medium;
  return medium + (weak > 0 ? 1 : 0) + (medium > 0 && weak > 1 ? 1 : 0);
}

/**
 * Every rule above needs one of these: a quote, a comparison, a comment, a
 * variable, or one of the words the rules look for. A browser User-Agent
 * (parentheses and semicolons, but none of these) is ruled out without lexing.
 */
const SQL_POSSIBLE = new RegExp(
  String.raw`['"\`=<>#@|&]|--|\/\*|\b(?:` +
    alternatives(`and or xor union select sleep benchmark waitfor drop delete insert update exec declare shutdown
      truncate alter create rename order group having into randomblob extractvalue updatexml load_file`) +
    String.raw`)\b|xp_|sp_|information_schema|pg_|dbms_|utl_|sqlite_|all_tab|user_tab|mysql\.|sys`,
);

/** True when `s` (already decoded; `lower` is it lower-cased) reads as SQL injection in any context. */
export function isSqli(s: string, lower = s.toLowerCase()): boolean {
  if (!SQL_POSSIBLE.test(lower)) return false;
  if (scoreContext(s, 0) >= THRESHOLD) return true;
  if (s.indexOf("'") !== -1 && scoreContext(s, 39) >= THRESHOLD) return true;
  return s.indexOf('"') !== -1 && scoreContext(s, 34) >= THRESHOLD;
}
