import type { CertificateReport as Certificate } from '../../../../proxy/listeners/certificate-report.ts';
import { get } from '../api.ts';
import { useLoad } from '../ui/hooks.ts';
import { Loading, Notice, when } from '../ui/parts.tsx';

/** Days before expiry from which a certificate is flagged: TollgateCertificateExpiresSoon's threshold. */
const SOON_DAYS = 14;
const DAY_S = 86_400;

function daysLeft(c: Certificate): string {
  if (c.expires_in_s < 0) return 'expired';
  const days = Math.floor(c.expires_in_s / DAY_S);
  return days === 0 ? 'under a day' : `${days} day${days === 1 ? '' : 's'}`;
}

/**
 * Every certificate the listeners, TLS streams and the admin listener serve, the soonest to expire first, with
 * those that expire within 14 days (the expiry alert's threshold) flagged. Read again every minute.
 */
export function Certificates() {
  const list = useLoad(() => get<Certificate[]>('/config/tls/certificates'), [], 60_000);
  const certificates = list.data?.data;
  const soon = (certificates ?? []).filter((c) => c.expires_in_s < SOON_DAYS * DAY_S);
  return (
    <>
      <h1>Certificates</h1>
      {list.error && <Notice kind="error">{list.error}</Notice>}
      {soon.length > 0 && (
        <Notice kind="error">
          {soon.length === 1 ? 'One certificate expires' : `${soon.length} certificates expire`} within {SOON_DAYS}{' '}
          days: renew {soon.length === 1 ? 'its files' : 'their files'}; the gateway picks them up without a restart.
        </Notice>
      )}
      {certificates === undefined ? (
        <Loading what="certificates" />
      ) : certificates.length === 0 ? (
        <p class="muted">No listener, stream or admin listener serves TLS.</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Expires</th>
                <th>Left</th>
                <th>Served by</th>
                <th>Subject</th>
                <th>Names</th>
                <th>Key</th>
                <th>Issuer</th>
                <th>OCSP stapling</th>
                <th>File</th>
              </tr>
            </thead>
            <tbody>
              {certificates.map((c) => (
                <tr>
                  <td>{when(c.not_after)}</td>
                  <td>
                    {daysLeft(c)}
                    {c.expires_in_s < SOON_DAYS * DAY_S && <span class="badge unhealthy">renew</span>}
                  </td>
                  <td>{c.served_by}</td>
                  <td>{c.subject}</td>
                  <td>{c.names.join(', ')}</td>
                  <td>{c.key_type}</td>
                  <td>{c.issuer}</td>
                  <td>{c.ocsp_stapling ? 'yes' : 'no'}</td>
                  <td>{c.file}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
