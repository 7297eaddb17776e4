import { useEffect, useState } from 'preact/hooks';
import { get, query } from '../api.ts';
import { messageOf, useTraceLink } from '../ui/hooks.ts';
import { Field, Notice, TraceId } from '../ui/parts.tsx';
// The API's own row type: type-only, so nothing of the collector is bundled.
import type { RecentEvent } from '../../../../../collector/reports/source.ts';

const KEEP = 200;
const POLL_MS = 1000;

/** The newest access events (GET /events/recent), filtered, refreshed every second; at most 200 kept. */
export function Tail() {
  const traceLink = useTraceLink();
  const [filter, setFilter] = useState({ app: '', service: '', status: '' });
  const [events, setEvents] = useState<RecentEvent[]>([]);
  const [paused, setPaused] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (paused) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout>;
    setEvents([]);
    const poll = async () => {
      try {
        const r = await get<{ events: RecentEvent[] }>(`/events/recent${query({ ...filter, limit: 100 })}`);
        setEvents((old) => {
          const seen = new Set(old.map((e) => e.id));
          return [...r.data.events.filter((e) => !seen.has(e.id)), ...old].slice(0, KEEP);
        });
        setError(undefined);
      } catch (e) {
        setError(messageOf(e));
      }
      if (!stop) timer = setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [filter, paused]);
  const set = (k: keyof typeof filter) => (e: Event) =>
    setFilter({ ...filter, [k]: (e.currentTarget as HTMLInputElement).value.trim() });
  return (
    <>
      <h1>Live tail</h1>
      <form class="inline" aria-label="Filter" onSubmit={(e) => e.preventDefault()}>
        <Field id="t-app" label="App">
          <input id="t-app" value={filter.app} onChange={set('app')} />
        </Field>
        <Field id="t-service" label="Service">
          <input id="t-service" value={filter.service} onChange={set('service')} />
        </Field>
        <Field id="t-status" label="Status" hint="e.g. 429 or 5xx">
          <input id="t-status" value={filter.status} onChange={set('status')} />
        </Field>
        <button type="button" aria-pressed={paused} onClick={() => setPaused(!paused)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
      </form>
      {error && <Notice kind="error">{error}</Notice>}
      <div class="scroll">
        <table aria-live="off">
          <thead>
            <tr>
              <th>Time</th>
              <th>App</th>
              <th>Service</th>
              <th>Method</th>
              <th>Route</th>
              <th>Status</th>
              <th>Protocol</th>
              <th>ms</th>
              <th>Client</th>
              <th>Reason</th>
              <th>Trace</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr class={e.status >= 500 ? 'status-5xx' : e.status >= 400 ? 'status-4xx' : undefined}>
                <td>{e.time.slice(11, 23)}</td>
                <td>{e.app_id}</td>
                <td>{e.service}</td>
                <td>{e.method}</td>
                <td>{e.route}</td>
                <td>
                  {e.status}
                  {e.grpc_status !== null ? ` / grpc ${e.grpc_status}` : ''}
                </td>
                <td>{e.protocol}</td>
                <td>{e.total_ms}</td>
                <td>{e.client_ip}</td>
                <td>{e.error_class === 'none' ? '' : e.error_class}</td>
                <td>
                  <TraceId id={e.trace_id} link={traceLink} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {events.length === 0 && <p class="muted">Waiting for requests…</p>}
    </>
  );
}
