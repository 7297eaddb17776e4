import { useState } from 'preact/hooks';
import { get, send } from '../api.ts';
import { canonicalJson, diffLines, type Hunk } from '../lib/diff.ts';
import { messageOf, useLoad } from '../ui/hooks.ts';
import { Loading, Notice, when } from '../ui/parts.tsx';

interface Version {
  version: number;
  source: string;
  createdAt: string;
  note: string;
}

const configOf = (v: number) =>
  get<Version & { config: unknown }>(`/config/history/${v}`).then((r) => canonicalJson(r.data.config));

/** Config versions, newest first: what each changed against the one before it, and a rollback to any of them. */
export function ConfigHistory() {
  const history = useLoad(() => get<Version[]>('/config/history?limit=100'), []);
  // Settings of the serving config that wait for a restart (GET /config's restartPending).
  const serving = useLoad(() => get<{ restartPending?: string[] }>('/config'), []);
  const pending = serving.data?.data.restartPending ?? [];
  const [selected, setSelected] = useState<number | undefined>(undefined);
  /** The version the shown one is compared with; by default the one before it. */
  const [base, setBase] = useState<number | undefined>(undefined);
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>(undefined);
  const versions = history.data?.data ?? [];
  const newest = versions[0]?.version;
  const shown = selected ?? newest;
  const previous = base ?? versions.find((v) => shown !== undefined && v.version < shown)?.version;
  const diff = useLoad(async (): Promise<Hunk[] | undefined> => {
    if (shown === undefined || previous === undefined) return undefined;
    const [a, b] = await Promise.all([configOf(previous), configOf(shown)]);
    return diffLines(a, b);
  }, [shown, previous]);
  const rollback = async (version: number) => {
    if (!confirm(`Roll back to version ${version}? It is applied as a new version at once.`)) return;
    try {
      const r = await send<Version>('POST', '/config/rollback', { version }, history.data?.etag);
      setNotice({
        kind: 'ok',
        text: `Rolled back: version ${version}'s config now serves as version ${r.data.version}.`,
      });
      setSelected(undefined);
      history.reload();
      serving.reload();
    } catch (e) {
      setNotice({ kind: 'error', text: messageOf(e) });
    }
  };
  return (
    <>
      <h1>Config</h1>
      {notice && <Notice kind={notice.kind}>{notice.text}</Notice>}
      {history.error && <Notice kind="error">{history.error}</Notice>}
      {pending.length > 0 && (
        <Notice kind="info">
          These settings differ from those the gateway started with and take effect on restart: {pending.join(', ')}.
          The rest of the config serves.
        </Notice>
      )}
      {history.data === undefined ? (
        <Loading what="the history" />
      ) : (
        <div class="split">
          <div class="scroll">
            <table aria-label="Versions">
              <thead>
                <tr>
                  <th>Version</th>
                  <th>When</th>
                  <th>By</th>
                  <th>Note</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => (
                  <tr class={v.version === shown ? 'selected' : undefined}>
                    <td>
                      <button
                        type="button"
                        class="link"
                        aria-pressed={v.version === shown}
                        onClick={() => {
                          setSelected(v.version);
                          setBase(undefined);
                        }}
                      >
                        v{v.version}
                      </button>
                      {v.version === newest && <span class="badge healthy">serving</span>}
                    </td>
                    <td>{when(v.createdAt)}</td>
                    <td>{v.source}</td>
                    <td>{v.note}</td>
                    <td>
                      {v.version !== newest && (
                        <button type="button" onClick={() => rollback(v.version)}>
                          Roll back to v{v.version}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <section aria-live="polite">
            <h2>{previous === undefined ? `v${shown}: the first version kept` : `v${previous} → v${shown}`}</h2>
            {versions.length > 1 && (
              <label class="inline-label">
                Compared with{' '}
                <select
                  value={previous ?? ''}
                  onChange={(e) => setBase(Number((e.currentTarget as HTMLSelectElement).value))}
                >
                  {versions
                    .filter((v) => v.version !== shown)
                    .map((v) => (
                      <option value={v.version}>v{v.version}</option>
                    ))}
                </select>
              </label>
            )}
            {diff.error && <Notice kind="error">{diff.error}</Notice>}
            {diff.data?.length === 0 && <p class="muted">The same config.</p>}
            {diff.data?.map((h) => (
              <pre class="diff">
                {h.lines.map((l) => (
                  <div class={l.kind === '+' ? 'add' : l.kind === '-' ? 'del' : undefined}>
                    {l.kind} {l.text}
                  </div>
                ))}
              </pre>
            ))}
          </section>
        </div>
      )}
    </>
  );
}
