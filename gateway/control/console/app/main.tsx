/**
 * The admin console: one page served at /console/ by the admin listener, driving the same admin, report and
 * billing APIs as curl would (api.ts). Routes are the part after '#', so a reload keeps the page.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get, token } from './api.ts';
import { useRoute } from './ui/hooks.ts';
import { Overview } from './pages/overview.tsx';
import { Services } from './pages/services.tsx';
import { ServiceEdit } from './pages/service-edit.tsx';
import { Apps } from './pages/apps.tsx';
import { AppDetail } from './pages/app-detail.tsx';
import { Reports } from './pages/reports.tsx';
import { Billing } from './pages/billing.tsx';
import { ConfigHistory } from './pages/config.tsx';
import { Tail } from './pages/tail.tsx';
import { Certificates } from './pages/certificates.tsx';
import { SignIn } from './pages/sign-in.tsx';

const NAV = [
  ['/', 'Overview'],
  ['/services', 'Services'],
  ['/apps', 'Apps'],
  ['/reports', 'Traffic'],
  ['/billing', 'Billing'],
  ['/config', 'Config'],
  ['/certificates', 'Certificates'],
  ['/tail', 'Live tail'],
] as const;

function page(route: string) {
  const [, first, second] = route.split('/');
  switch (first) {
    case '':
      return <Overview />;
    case 'services':
      // Keyed by what they edit: another service or app is a new form, never the last one's state.
      return second === undefined ? (
        <Services />
      ) : (
        <ServiceEdit key={second} name={second === 'new' ? undefined : second} />
      );
    case 'apps':
      return second === undefined ? <Apps /> : <AppDetail key={second} id={second} />;
    case 'reports':
      return <Reports />;
    case 'billing':
      return <Billing />;
    case 'config':
      return <ConfigHistory />;
    case 'tail':
      return <Tail />;
    case 'certificates':
      return <Certificates />;
    default:
      return (
        <p>
          No page here. Go to the <a href="#/">overview</a>.
        </p>
      );
  }
}

function Console() {
  const route = useRoute();
  const [signedIn, setSignedIn] = useState<boolean | undefined>(undefined);
  useEffect(() => {
    token.onMissing(() => setSignedIn(false));
    // Whether the API needs a token that this tab does not hold.
    get('/config/history?limit=1').then(
      () => setSignedIn(true),
      () => setSignedIn((s) => s ?? true),
    );
  }, []);
  if (signedIn === undefined) return <p class="muted">Connecting…</p>;
  if (!signedIn) return <SignIn onDone={() => setSignedIn(true)} />;
  const section = `/${route.split('/')[1]}`;
  return (
    <>
      <header>
        <a class="brand" href="#/">
          Tollgate
        </a>
        <nav aria-label="Console">
          {NAV.map(([path, label]) => (
            <a href={`#${path}`} aria-current={section === path ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        {token.get() !== '' && (
          <button
            type="button"
            class="link"
            onClick={() => {
              token.clear();
              setSignedIn(false);
            }}
          >
            Sign out
          </button>
        )}
      </header>
      <main>{page(route)}</main>
    </>
  );
}

render(<Console />, document.getElementById('console')!);
