import { useState } from 'preact/hooks';
import { download, get, query, request } from '../api.ts';
import { messageOf, useLoad } from '../ui/hooks.ts';
import { Field, Loading, Notice, num } from '../ui/parts.tsx';
import type { QpdRow } from '../../../../../collector/reports/billing.ts';

/** The first and last day of a `YYYY-MM` month. */
export function monthRange(month: string): { from: string; to: string } {
  const [y, m] = month.split('-').map(Number);
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { from: `${month}-01`, to: `${month}-${String(last).padStart(2, '0')}` };
}

/** GET /billing/qpd for a month: queries per app per day, final once they can no longer change; CSV or JSON. */
export function Billing() {
  const [month, setMonth] = useState(new Date().toISOString().slice(0, 7));
  const [error, setError] = useState<string | undefined>(undefined);
  const range = monthRange(month);
  const rows = useLoad(() => get<{ rows: QpdRow[] }>(`/billing/qpd${query(range)}`).then((r) => r.data.rows), [month]);
  const save = async (format: 'csv' | 'json') => {
    try {
      const res = await request('GET', `/billing/qpd${query({ ...range, format })}`, {
        accept: format === 'csv' ? 'text/csv' : 'application/json',
      });
      download(`qpd-${month}.${format}`, await res.blob(), format === 'csv' ? 'text/csv' : 'application/json');
      setError(undefined);
    } catch (e) {
      setError(messageOf(e));
    }
  };
  const total = (rows.data ?? []).reduce((n, r) => n + r.billable_requests, 0);
  return (
    <>
      <h1>Billing</h1>
      <form class="inline" aria-label="Month" onSubmit={(e) => e.preventDefault()}>
        <Field id="month" label="Month (UTC)">
          <input id="month" type="month" value={month} onInput={(e) => setMonth(e.currentTarget.value)} required />
        </Field>
        <button type="button" onClick={() => save('csv')}>
          Export CSV
        </button>
        <button type="button" onClick={() => save('json')}>
          Export JSON
        </button>
      </form>
      {(error ?? rows.error) && <Notice kind="error">{error ?? rows.error}</Notice>}
      {rows.data === undefined ? (
        <Loading what="billing" />
      ) : (
        <>
          <p>
            {num(total)} billable requests from {range.from} to {range.to}.
          </p>
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th>Date</th>
                  <th>App</th>
                  <th>Requests</th>
                  <th>Billable</th>
                  <th>Final</th>
                  <th>HTTP/1.1</th>
                  <th>h2</th>
                  <th>gRPC</th>
                  <th>WebSocket</th>
                </tr>
              </thead>
              <tbody>
                {rows.data.map((r) => (
                  <tr>
                    <td>{r.date}</td>
                    <td>{r.app_id || '(no app)'}</td>
                    <td>{num(r.requests)}</td>
                    <td>{num(r.billable_requests)}</td>
                    <td>{r.final ? 'final' : 'open'}</td>
                    <td>{num(r.http1_requests)}</td>
                    <td>{num(r.h2_requests)}</td>
                    <td>{num(r.grpc_requests)}</td>
                    <td>{num(r.websocket_requests)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {rows.data.length === 0 && <p class="muted">No requests in this month.</p>}
        </>
      )}
    </>
  );
}
