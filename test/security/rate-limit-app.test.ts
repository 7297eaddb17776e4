import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admin, createApp } from '../helpers/admin.ts';
import { eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';
import { call, startAuthRig } from './auth-rig.ts';

const auth = (secretOf: string, id: string) => ({ 'x-api-key': `${id}.${secretOf}` });

test(
  "a key: app policy takes each app's own QPS and QPD from its " +
    'record, counts apps apart, and follows an edit without a reload',
  async () => {
    const rig = await startAuthRig({ type: 'api_key' }, {}, []);
    try {
      // The one service gets a per-app policy with no numbers of its own: each app's record decides.
      const raw = (await admin(rig.gw, 'GET', '/config')).json;
      assert.ok(raw, 'GET /config answers');
      const cfg = raw.config ?? raw;
      cfg.services[0].rate_limits = [{ name: 'per-app', key: 'app' }];
      const applied = await rig.gw.manager.apply(cfg, 'admin', 'per-app limits');
      assert.equal(applied.ok, true, JSON.stringify(applied));

      const slow = await createApp(rig.gw, { name: 'slow', qps: 1, burst: 2 });
      const quota = await createApp(rig.gw, { name: 'quota', qpd: 3 });
      const seq = async (id: string, secret: string, n: number) => {
        const out: number[] = [];
        for (let i = 0; i < n; i++) out.push((await call(rig.gw.url, '/x', auth(secret, id))).status);
        return out;
      };
      assert.deepEqual(await seq(slow.id, slow.secret, 3), [200, 200, 429]);
      // Another app's bucket is its own; this one has a daily quota instead.
      assert.deepEqual(await seq(quota.id, quota.secret, 4), [200, 200, 200, 429]);
      const refused = await call(rig.gw.url, '/x', auth(quota.secret, quota.id));
      assert.equal(refused.json.code, 'GW_ERR_QUOTA_EXCEEDED');
      const events = await eventsWhere(rig.gw, (e) => e.status === 429, 3);
      assert.deepEqual(
        events.map((e) => [e.appId, e.errorClass]).sort(),
        [
          [quota.id, 'quota_exceeded'],
          [quota.id, 'quota_exceeded'],
          [slow.id, 'rate_limited'],
        ].sort(),
      );
      assert.equal(
        await metric(
          rig.gw,
          'tollgate_rate_limit_decisions_total',
          'service="api",policy="per-app",result="quota_exceeded"',
        ),
        2,
      );

      // Raising the app's quota through the admin API applies to the next request.
      const got = (await admin(rig.gw, 'GET', `/apps/${quota.id}`)).json;
      const put = await admin(rig.gw, 'PUT', `/apps/${quota.id}`, {
        name: got.name,
        status: got.status,
        allowed_ips: got.allowed_ips,
        roles: got.roles,
        qpd: 10,
      });
      assert.equal(put.status, 200, JSON.stringify(put.json));
      assert.equal((await call(rig.gw.url, '/x', auth(quota.secret, quota.id))).status, 200);
    } finally {
      await rig.close();
    }
  },
);
