import { useState } from 'preact/hooks';
import { get } from '../api.ts';
import { useLoad } from '../ui/hooks.ts';
import { Loading, Notice } from '../ui/parts.tsx';
import { TargetState, type Target } from './overview.tsx';

export interface Service {
  name: string;
  routes?: Array<{ paths?: string[]; hosts?: string[]; methods?: string[]; strip_prefix?: boolean }>;
  upstream?: {
    balancer?: string;
    protocol?: string;
    targets?: Array<{ url: string; weight?: number }>;
    discovery?: Record<string, unknown>;
  };
  auth?: { type?: string };
  [key: string]: unknown;
}

interface Discovery {
  source: string;
  state: 'connecting' | 'synced' | 'stale';
  stale_since?: string;
  last_error?: string;
  skipped: Array<{ entry: string; reason: string }>;
}

/** Where a service's targets come from when a registry has them, and how it stands. */
function DiscoveryState({ d }: { d: Discovery }) {
  return (
    <div class="muted">
      from {d.source}: <span class={`badge ${d.state === 'synced' ? 'healthy' : 'unhealthy'}`}>{d.state}</span>
      {d.state === 'stale' && d.last_error ? ` since ${d.stale_since ?? '?'} (${d.last_error})` : ''}
      {d.skipped.length > 0 &&
        ` · ${d.skipped.length} entries skipped: ${d.skipped.map((x) => `${x.entry} (${x.reason})`).join(', ')}`}
    </div>
  );
}

/** Every service, searchable by name, path or target, with its targets' health. */
export function Services() {
  const [search, setSearch] = useState('');
  const services = useLoad(() => get<Service[]>('/services'), []);
  const health = useLoad(
    () => get<Array<{ service: string; targets: Target[]; discovery?: Discovery }>>('/health'),
    [],
    5000,
  );
  const needle = search.trim().toLowerCase();
  const shown = (services.data?.data ?? []).filter(
    (s) =>
      needle === '' ||
      s.name.toLowerCase().includes(needle) ||
      JSON.stringify(s.routes ?? [])
        .toLowerCase()
        .includes(needle) ||
      JSON.stringify(s.upstream?.targets ?? [])
        .toLowerCase()
        .includes(needle),
  );
  const healthOf = (name: string) => health.data?.data.find((h) => h.service === name);
  return (
    <>
      <h1>Services</h1>
      <div class="toolbar">
        <label for="search" class="visually-hidden">
          Search services
        </label>
        <input
          id="search"
          type="search"
          placeholder="Search by name, path or target"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
        />
        <a class="button" href="#/services/new">
          New service
        </a>
      </div>
      {services.error && <Notice kind="error">{services.error}</Notice>}
      {services.data === undefined ? (
        <Loading what="services" />
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Routes</th>
                <th>Auth</th>
                <th>Targets</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((s) => (
                <tr>
                  <td>
                    <a href={`#/services/${encodeURIComponent(s.name)}`}>{s.name}</a>
                  </td>
                  <td>{(s.routes ?? []).map((r) => [...(r.hosts ?? []), ...(r.paths ?? [])].join(' ')).join('; ')}</td>
                  <td>{s.auth?.type ?? 'none'}</td>
                  <td>
                    {(healthOf(s.name)?.targets ?? []).map((t) => (
                      <div>
                        {t.id} <TargetState target={t} />
                      </div>
                    ))}
                    {healthOf(s.name)?.discovery && <DiscoveryState d={healthOf(s.name)!.discovery!} />}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {services.data !== undefined && shown.length === 0 && <p class="muted">No service matches.</p>}
    </>
  );
}
