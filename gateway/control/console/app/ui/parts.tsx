import type { ComponentChildren } from 'preact';

/** A labelled form field with its validation error under it (the error text is linked for screen readers). */
export function Field(props: {
  id: string;
  label: string;
  error?: string;
  hint?: string;
  children: ComponentChildren;
}) {
  return (
    <div class={`field${props.error ? ' invalid' : ''}`}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && <small id={`${props.id}-hint`}>{props.hint}</small>}
      {props.error && (
        <small class="error" id={`${props.id}-error`} role="alert">
          {props.error}
        </small>
      )}
    </div>
  );
}

export function Notice(props: { kind: 'error' | 'info' | 'ok'; children: ComponentChildren }) {
  return (
    <div class={`notice ${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </div>
  );
}

export function Loading(props: { what: string }) {
  return <p class="muted">Loading {props.what}…</p>;
}

/** A number with thousands separators; '–' for none. */
export function num(v: number | undefined, digits = 0): string {
  if (v === undefined || Number.isNaN(v)) return '–';
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function pct(v: number | undefined): string {
  return v === undefined ? '–' : `${(v * 100).toFixed(v > 0 && v < 0.01 ? 2 : 1)}%`;
}

export function ms(v: number | undefined): string {
  return v === undefined ? '–' : v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(0)} ms`;
}

/** An ISO time in the browser's zone, to the second. */
export function when(iso: string | number): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString('sv-SE').replace('T', ' ');
}

/** A trace id, shortened, linked to the tracing UI when useTraceLink() has a link for it. */
export function TraceId(props: { id: string; link: (traceId: string) => string | undefined }) {
  const href = props.link(props.id);
  const short = props.id.slice(0, 8);
  return href === undefined ? (
    <span title={props.id}>{short}</span>
  ) : (
    <a href={href} target="_blank" rel="noopener noreferrer" title={props.id}>
      {short}
    </a>
  );
}
