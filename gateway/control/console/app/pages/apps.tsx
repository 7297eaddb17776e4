import { useState } from 'preact/hooks';
import { get, send } from '../api.ts';
import { messageOf, useLoad } from '../ui/hooks.ts';
import { Field, Loading, Notice, num } from '../ui/parts.tsx';

export interface App {
  id: string;
  name: string;
  status: 'enabled' | 'disabled';
  allowed_ips: string[];
  roles: string[];
  qps?: number | null;
  burst?: number | null;
  qpd?: number | null;
  secrets: Array<{ created_at?: string; expires_at?: string }>;
  created_at: string;
  updated_at: string;
}

/** A secret just made: shown once, with the API key it makes (`<app id>.<secret>`). */
export function SecretOnce(props: { appId: string; secret: string }) {
  return (
    <Notice kind="ok">
      <p>
        The app's secret, shown only this once: store it now. Its API key is{' '}
        <code>
          {props.appId}.{props.secret}
        </code>
      </p>
      <p>
        <label>
          Secret <input readOnly value={props.secret} size={48} onFocus={(e) => e.currentTarget.select()} />
        </label>
      </p>
    </Notice>
  );
}

/** The tenants: every app with its status, quotas and today's requests; a new one's secret shown once. */
export function Apps() {
  const apps = useLoad(() => get<App[]>('/apps'), []);
  const today = useLoad(() => get<{ today: Array<{ app_id: string; requests: number }> }>('/stats/live'), [], 5000);
  const [name, setName] = useState('');
  const [id, setId] = useState('');
  const [created, setCreated] = useState<{ appId: string; secret: string } | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const requestsToday = (appId: string) =>
    today.data?.data.today.filter((r) => r.app_id === appId).reduce((n, r) => n + r.requests, 0);
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const body = id.trim() === '' ? { name } : { name, id: id.trim() };
      const r = await send<{ app: App; secret: string }>('POST', '/apps', body);
      setCreated({ appId: r.data.app.id, secret: r.data.secret });
      setName('');
      setId('');
      setError(undefined);
      apps.reload();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <>
      <h1>Apps</h1>
      {created && <SecretOnce {...created} />}
      <form class="inline" onSubmit={create} aria-label="New app">
        <Field id="app-name" label="New app's name">
          <input id="app-name" value={name} required onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field id="app-id" label="Id (optional)" hint="letters, digits, _ and -">
          <input id="app-id" value={id} onInput={(e) => setId(e.currentTarget.value)} />
        </Field>
        <button type="submit">Create app</button>
      </form>
      {error && <Notice kind="error">{error}</Notice>}
      {apps.error && <Notice kind="error">{apps.error}</Notice>}
      {apps.data === undefined ? (
        <Loading what="apps" />
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Id</th>
                <th>Name</th>
                <th>Status</th>
                <th>QPS</th>
                <th>QPD</th>
                <th>Requests today</th>
                <th>Roles</th>
              </tr>
            </thead>
            <tbody>
              {apps.data.data.map((a) => (
                <tr>
                  <td>
                    <a href={`#/apps/${encodeURIComponent(a.id)}`}>{a.id}</a>
                  </td>
                  <td>{a.name}</td>
                  <td>
                    <span class={`badge ${a.status}`}>{a.status}</span>
                  </td>
                  <td>{a.qps ?? '–'}</td>
                  <td>{a.qpd ?? '–'}</td>
                  <td>{num(requestsToday(a.id))}</td>
                  <td>{a.roles.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
