import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, send } from '../api.ts';
import { messageOf, useLoad } from '../ui/hooks.ts';
import { Field, Loading, Notice } from '../ui/parts.tsx';
import { HealthTable, type Target } from './overview.tsx';
import type { Service } from './services.tsx';

type FieldError = { path: string; message: string };
const BALANCERS = ['round_robin', 'least_connections', 'random', 'ip_hash', 'consistent_hash', 'ewma'];
/** What a creation left for the page of the service it made. */
let created: string | undefined;
const NEW: Service = {
  name: '',
  routes: [{ paths: ['/'] }],
  upstream: { targets: [{ url: 'http://127.0.0.1:9001' }] },
};

/**
 * One service: the common fields as a form and the whole service as JSON (every schema field), kept in step. The
 * gateway's validation errors show at their field, or with their path when no field shows it; a save someone
 * else's change beat (412) says so and offers to reload.
 */
export function ServiceEdit(props: { name: string | undefined }) {
  const isNew = props.name === undefined;
  const [draft, setDraft] = useState<Service>(NEW);
  const [json, setJson] = useState(JSON.stringify(NEW, null, 2));
  const [jsonError, setJsonError] = useState<string | undefined>(undefined);
  const [etag, setEtag] = useState<string | undefined>(undefined);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string; stale?: boolean } | undefined>(() => {
    const saved = created;
    created = undefined;
    return saved === undefined ? undefined : { kind: 'ok', text: saved };
  });
  const [index, setIndex] = useState(0);
  /** Whether the draft holds the loaded service yet: the form shows only then, so no typing is overwritten. */
  const [ready, setReady] = useState(false);
  const loaded = useLoad(async () => {
    const list = await get<Service[]>('/services');
    const at = isNew ? list.data.length : list.data.findIndex((s) => s.name === props.name);
    setIndex(at);
    if (isNew) return { service: NEW, etag: list.etag };
    if (at < 0) throw new Error(`no service named "${props.name}"`);
    return { service: list.data[at], etag: list.etag };
  }, [props.name]);
  const health = useLoad(
    () =>
      isNew
        ? Promise.resolve([])
        : get<{ health: Target[] }>(`/upstreams/${encodeURIComponent(props.name!)}`).then((r) => r.data.health),
    [props.name],
    5000,
  );
  useEffect(() => {
    if (loaded.data === undefined) return;
    change(loaded.data.service);
    setEtag(loaded.data.etag);
    setReady(true);
  }, [loaded.data]);

  const change = (next: Service) => {
    setDraft(next);
    setJson(JSON.stringify(next, null, 2));
    setJsonError(undefined);
  };
  const edit = (f: (s: Service) => void) => {
    const next = structuredClone(draft);
    f(next);
    change(next);
  };
  /** Errors for the service's own paths, relative to it. */
  const relative = (e: FieldError) => {
    const prefix = `/services/${index}`;
    return e.path === prefix || e.path.startsWith(`${prefix}/`) ? { ...e, path: e.path.slice(prefix.length) } : e;
  };
  const errorAt = (path: string) => errors.find((e) => e.path === path || e.path.startsWith(`${path}/`))?.message;
  const shownAtFields = new Set<string>();
  const at = (path: string) => {
    const m = errorAt(path);
    if (m !== undefined)
      for (const e of errors) if (e.path === path || e.path.startsWith(`${path}/`)) shownAtFields.add(e.path);
    return m;
  };

  const save = async (e: Event) => {
    e.preventDefault();
    if (jsonError) return;
    const name = isNew ? draft.name : props.name!;
    setNotice(undefined);
    try {
      const r = await send<{ version: number }>(
        'PUT',
        `/services/${encodeURIComponent(name)}`,
        { ...draft, name },
        etag,
      );
      setErrors([]);
      setEtag(r.etag);
      const saved = `Saved as config version ${r.data.version}.`;
      if (isNew) {
        // The new service's own page says so.
        created = saved;
        location.hash = `#/services/${encodeURIComponent(name)}`;
      } else setNotice({ kind: 'ok', text: saved });
    } catch (err) {
      const stale = err instanceof ApiError && err.status === 412;
      setErrors(err instanceof ApiError ? err.errors.map(relative) : []);
      setNotice({
        kind: 'error',
        stale,
        text: stale ? 'Someone else changed the config since you opened this service.' : messageOf(err),
      });
    }
  };
  const remove = async () => {
    if (!confirm(`Delete service ${props.name}? Its routes stop answering at once.`)) return;
    try {
      await send('DELETE', `/services/${encodeURIComponent(props.name!)}`, undefined, etag);
      location.hash = '#/services';
    } catch (err) {
      setNotice({ kind: 'error', text: messageOf(err), stale: err instanceof ApiError && err.status === 412 });
    }
  };

  if (loaded.error) return <Notice kind="error">{loaded.error}</Notice>;
  // The form waits until its draft holds the service (and the config version) it edits: the first render after the
  // load still shows the placeholder draft, and typing into it would be lost when the draft is set.
  if (!ready) return <Loading what="the service" />;
  const routes = draft.routes ?? [];
  const targets = draft.upstream?.targets ?? [];
  const form = (
    <form onSubmit={save} aria-label="Service">
      {isNew && (
        <Field id="name" label="Name" error={at('/name')}>
          <input
            id="name"
            value={draft.name}
            required
            onInput={(e) => edit((s) => void (s.name = e.currentTarget.value))}
          />
        </Field>
      )}
      <fieldset>
        <legend>Routes</legend>
        {routes.map((r, i) => (
          <div class="row">
            <Field
              id={`route-${i}-paths`}
              label={`Route ${i + 1} paths`}
              error={at(`/routes/${i}/paths`)}
              hint="space-separated"
            >
              <input
                id={`route-${i}-paths`}
                value={(r.paths ?? []).join(' ')}
                onInput={(e) =>
                  edit((s) => void (s.routes![i].paths = e.currentTarget.value.split(/\s+/).filter(Boolean)))
                }
              />
            </Field>
            <Field
              id={`route-${i}-hosts`}
              label="Hosts"
              error={at(`/routes/${i}/hosts`)}
              hint="space-separated; empty = any"
            >
              <input
                id={`route-${i}-hosts`}
                value={(r.hosts ?? []).join(' ')}
                onInput={(e) =>
                  edit((s) => {
                    const hosts = e.currentTarget.value.split(/\s+/).filter(Boolean);
                    if (hosts.length > 0) s.routes![i].hosts = hosts;
                    else delete s.routes![i].hosts;
                  })
                }
              />
            </Field>
            <label class="check">
              <input
                type="checkbox"
                checked={r.strip_prefix === true}
                onChange={(e) => edit((s) => void (s.routes![i].strip_prefix = e.currentTarget.checked))}
              />{' '}
              Strip prefix
            </label>
            <button type="button" class="link" onClick={() => edit((s) => void s.routes!.splice(i, 1))}>
              Remove route {i + 1}
            </button>
          </div>
        ))}
        <button type="button" onClick={() => edit((s) => void (s.routes = [...(s.routes ?? []), { paths: ['/'] }]))}>
          Add a route
        </button>
      </fieldset>
      <fieldset>
        <legend>Upstream</legend>
        <Field id="balancer" label="Balancer" error={at('/upstream/balancer')}>
          <select
            id="balancer"
            value={draft.upstream?.balancer ?? 'round_robin'}
            onChange={(e) => edit((s) => void ((s.upstream ??= {}).balancer = e.currentTarget.value))}
          >
            {BALANCERS.map((b) => (
              <option value={b}>{b}</option>
            ))}
          </select>
        </Field>
        {targets.map((t, i) => (
          <div class="row">
            <Field id={`target-${i}-url`} label={`Target ${i + 1} URL`} error={at(`/upstream/targets/${i}/url`)}>
              <input
                id={`target-${i}-url`}
                value={t.url}
                onInput={(e) => edit((s) => void (s.upstream!.targets![i].url = e.currentTarget.value))}
              />
            </Field>
            <Field id={`target-${i}-weight`} label="Weight" error={at(`/upstream/targets/${i}/weight`)}>
              <input
                id={`target-${i}-weight`}
                type="number"
                min={1}
                value={t.weight ?? 1}
                onInput={(e) => edit((s) => void (s.upstream!.targets![i].weight = Number(e.currentTarget.value)))}
              />
            </Field>
            <button type="button" class="link" onClick={() => edit((s) => void s.upstream!.targets!.splice(i, 1))}>
              Remove target {i + 1}
            </button>
          </div>
        ))}
        <button
          type="button"
          onClick={() =>
            edit((s) => void ((s.upstream ??= {}).targets = [...targets, { url: 'http://127.0.0.1:9001' }]))
          }
        >
          Add a target
        </button>
      </fieldset>
      <Field id="service-json" label="The whole service as JSON (every field of the schema)" error={jsonError}>
        <textarea
          id="service-json"
          rows={16}
          spellcheck={false}
          value={json}
          onInput={(e) => {
            const text = e.currentTarget.value;
            setJson(text);
            try {
              setDraft(JSON.parse(text) as Service);
              setJsonError(undefined);
            } catch (err) {
              setJsonError(`not JSON: ${(err as Error).message}`);
            }
          }}
        />
      </Field>
      <div class="actions">
        <button type="submit" disabled={jsonError !== undefined}>
          {isNew ? 'Create' : 'Save'}
        </button>
        {!isNew && (
          <button type="button" class="danger" onClick={remove}>
            Delete
          </button>
        )}
      </div>
    </form>
  );
  const elsewhere = errors.filter((e) => !shownAtFields.has(e.path));
  return (
    <>
      <p>
        <a href="#/services">Services</a> /
      </p>
      <h1>{isNew ? 'New service' : props.name}</h1>
      {notice && (
        <Notice kind={notice.kind}>
          {notice.text}{' '}
          {notice.stale && (
            <button
              type="button"
              onClick={() => {
                setErrors([]);
                setNotice(undefined);
                loaded.reload();
              }}
            >
              Reload the current version
            </button>
          )}
        </Notice>
      )}
      {form}
      {elsewhere.length > 0 && (
        <Notice kind="error">
          <ul class="plain">
            {elsewhere.map((e) => (
              <li>
                <code>{e.path || '/'}</code> {e.message}
              </li>
            ))}
          </ul>
        </Notice>
      )}
      {!isNew && (
        <section>
          <h2>Targets now</h2>
          {health.data && <HealthTable rows={[{ service: props.name!, targets: health.data }]} />}
        </section>
      )}
    </>
  );
}
