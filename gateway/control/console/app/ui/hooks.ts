import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get } from '../api.ts';

/** The page's location after '#', e.g. `/services/api`; follows back/forward and links. */
export function useRoute(): string {
  const read = () => decodeURI(location.hash.replace(/^#/, '')) || '/';
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * `load` once, again when `deps` change or reload() is called, and every `everyMs` when given (polling pauses
 * while the tab is hidden). A failed reload or poll keeps the last data and says what went wrong; when `deps`
 * change, the data of the old ones goes at once (a report asked for other dates never shows, or exports, the
 * last one's rows under the new dates).
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const current = useRef(0);
  // The deps the data was loaded for; until the effect of new deps runs, what is held belongs to the old ones.
  const loadedFor = useRef(deps);
  const stale = !sameDeps(loadedFor.current, deps);
  useEffect(() => {
    const run = ++current.current;
    loadedFor.current = deps;
    // New deps: what this render saw as data is the old deps' (stale), so it counts as none.
    if (stale) {
      setData(undefined);
      setError(undefined);
      setLoading(true);
    }
    const none = stale || data === undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const once = async () => {
      if (document.visibilityState !== 'hidden' || none) {
        try {
          const value = await load();
          if (run !== current.current) return;
          setData(value);
          setError(undefined);
        } catch (e) {
          if (run !== current.current) return;
          setError(messageOf(e));
        }
        setLoading(false);
      }
      if (everyMs !== undefined && run === current.current) timer = setTimeout(once, everyMs);
    };
    void once();
    return () => {
      current.current++;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  const reload = () => setTick((t) => t + 1);
  return stale ? { data: undefined, error: undefined, loading: true, reload } : { data, error, loading, reload };
}

function sameDeps(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((d, i) => Object.is(d, b[i]));
}

export function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.code === '' ? e.message : `${e.message} (${e.code})`;
  return e instanceof Error ? e.message : String(e);
}

/** tracing.ui_url of the serving config (an http(s) URL with {trace_id}), for links to traces; '' without. */
export function useTraceLink(): (traceId: string) => string | undefined {
  const [template, setTemplate] = useState('');
  useEffect(() => {
    get<{ config: { tracing?: { ui_url?: string } } }>('/config').then(
      (r) => setTemplate(r.data.config.tracing?.ui_url ?? ''),
      () => undefined,
    );
  }, []);
  return (traceId) =>
    template.startsWith('http') && traceId !== ''
      ? template.replace('{trace_id}', encodeURIComponent(traceId))
      : undefined;
}
