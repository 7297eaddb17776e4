import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, query, send } from '../api.ts';
import { messageOf, useLoad } from '../ui/hooks.ts';
import { Field, Loading, Notice, num, pct, when } from '../ui/parts.tsx';
import { type App, SecretOnce } from './apps.tsx';

type Editable = Pick<App, 'name' | 'status' | 'allowed_ips' | 'roles' | 'qps' | 'burst' | 'qpd'>;

const today = () => new Date().toISOString().slice(0, 10);
const limit = (text: string) => (text.trim() === '' ? null : Number(text));

/**
 * One app: enable or disable it, rotate its secret (the new one shown once), its roles (RBAC), addresses and
 * quotas, and today's usage against them (billable requests for QPD, as the QPD limit and billing count them).
 */
export function AppDetail(props: { id: string }) {
  const path = `/apps/${encodeURIComponent(props.id)}`;
  const app = useLoad(() => get<App>(path), [props.id]);
  const usage = useLoad(
    () =>
      get<{ rows: Array<{ app_id: string; requests: number; billable_requests: number }> }>(
        `/billing/qpd${query({ from: today(), to: today() })}`,
      ).then((r) => r.data.rows.find((row) => row.app_id === props.id)),
    [props.id],
    5000,
  );
  const [draft, setDraft] = useState<Editable | undefined>(undefined);
  const [etag, setEtag] = useState<string | undefined>(undefined);
  const [errors, setErrors] = useState<Array<{ path: string; message: string }>>([]);
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>(undefined);
  const [secret, setSecret] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (app.data === undefined) return;
    const { name, status, allowed_ips, roles, qps, burst, qpd } = app.data.data;
    setDraft({ name, status, allowed_ips, roles, qps, burst, qpd });
    setEtag(app.data.etag);
  }, [app.data]);

  const put = async (next: Editable, done: string) => {
    try {
      const r = await send<App>('PUT', path, next, etag);
      setEtag(r.etag);
      setErrors([]);
      setNotice({ kind: 'ok', text: done });
      app.reload();
    } catch (err) {
      setErrors(err instanceof ApiError ? [...err.errors] : []);
      setNotice({ kind: 'error', text: messageOf(err) });
    }
  };
  const rotate = async () => {
    const ask =
      'Rotate the secret? The old one keeps working for the overlap window; then what it holds open is closed.';
    if (!confirm(ask)) return;
    try {
      const r = await send<{ app: App; secret: string }>('POST', `${path}/secret`);
      setSecret(r.data.secret);
      app.reload();
    } catch (err) {
      setNotice({ kind: 'error', text: messageOf(err) });
    }
  };
  if (app.error) return <Notice kind="error">{app.error}</Notice>;
  if (draft === undefined || app.data === undefined) return <Loading what="the app" />;
  const errorAt = (field: string) =>
    errors.find((e) => e.path === `/${field}` || e.path.startsWith(`/${field}/`))?.message;
  const billable = usage.data?.billable_requests ?? 0;
  const set = (patch: Partial<Editable>) => setDraft({ ...draft, ...patch });
  return (
    <>
      <p>
        <a href="#/apps">Apps</a> /
      </p>
      <h1>
        {app.data.data.name} <small class="muted">{props.id}</small>
      </h1>
      {secret && <SecretOnce appId={props.id} secret={secret} />}
      {notice && <Notice kind={notice.kind}>{notice.text}</Notice>}
      <section class="tiles" aria-label="Today">
        <div class="tile">
          <span class="label">Requests today</span>
          <span class="value">{num(usage.data?.requests ?? 0)}</span>
        </div>
        <div class="tile">
          <span class="label">Billable today</span>
          <span class="value">{num(billable)}</span>
        </div>
        <div class="tile">
          <span class="label">Of the QPD quota</span>
          <span class="value">{draft.qpd ? `${pct(billable / draft.qpd)} of ${num(draft.qpd)}` : 'no quota'}</span>
        </div>
      </section>
      <div class="actions">
        <button
          type="button"
          onClick={() =>
            put(
              { ...draft, status: draft.status === 'enabled' ? 'disabled' : 'enabled' },
              draft.status === 'enabled' ? 'Disabled.' : 'Enabled.',
            )
          }
        >
          {draft.status === 'enabled' ? 'Disable' : 'Enable'}
        </button>
        <button type="button" onClick={rotate}>
          Rotate secret
        </button>
      </div>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void put(draft, 'Saved.');
        }}
        aria-label="App"
      >
        <Field id="name" label="Name" error={errorAt('name')}>
          <input id="name" value={draft.name} required onInput={(e) => set({ name: e.currentTarget.value })} />
        </Field>
        <Field id="roles" label="Roles (RBAC grants)" error={errorAt('roles')} hint="space-separated">
          <input
            id="roles"
            value={draft.roles.join(' ')}
            onInput={(e) => set({ roles: e.currentTarget.value.split(/\s+/).filter(Boolean) })}
          />
        </Field>
        <Field
          id="allowed_ips"
          label="Allowed addresses"
          error={errorAt('allowed_ips')}
          hint="addresses or CIDRs, space-separated; empty = any"
        >
          <input
            id="allowed_ips"
            value={draft.allowed_ips.join(' ')}
            onInput={(e) => set({ allowed_ips: e.currentTarget.value.split(/\s+/).filter(Boolean) })}
          />
        </Field>
        <div class="row">
          {(['qps', 'burst', 'qpd'] as const).map((k) => (
            <Field
              id={k}
              label={{ qps: 'QPS', burst: 'Burst', qpd: 'QPD' }[k]}
              error={errorAt(k)}
              hint="empty = no limit"
            >
              <input
                id={k}
                type="number"
                min={1}
                value={draft[k] ?? ''}
                onInput={(e) => set({ [k]: limit(e.currentTarget.value) })}
              />
            </Field>
          ))}
        </div>
        <button type="submit">Save</button>
      </form>
      <section>
        <h2>Secrets</h2>
        <ul class="plain">
          {app.data.data.secrets.map((s) => (
            <li>
              made {s.created_at ? when(s.created_at) : '–'}
              {s.expires_at ? `, stops working ${when(s.expires_at)}` : ''}
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
