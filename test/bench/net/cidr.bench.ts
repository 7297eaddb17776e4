/**
 * The CIDR matcher against node:net BlockList on the same list and addresses.
 * Run: node test/bench/net/cidr.bench.ts
 */
import { BlockList } from 'node:net';
import { compileCidrs } from '../../../gateway/proxy/net/cidr.ts';

const list = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '203.0.113.0/24',
  '198.51.100.7',
  '2001:db8::/32',
  'fd00::/8',
  '::1',
];
for (let i = 0; i < 40; i++) list.push(`45.${i}.0.0/16`);
const ours = compileCidrs(list);
const bl = new BlockList();
for (const c of list) {
  const [a, b] = c.split('/');
  const family = a.includes(':') ? 'ipv6' : 'ipv4';
  if (b) bl.addSubnet(a, Number(b), family);
  else bl.addAddress(a, family);
}
const v4 = Array.from(
  { length: 1024 },
  (_, i) => `${[10, 8, 45, 203][i % 4]}.${(i * 7) % 256}.${(i * 13) % 256}.${i % 256}`,
);
const v6 = Array.from({ length: 1024 }, (_, i) => `${['2001:db8', 'fd12', '2a00:1450'][i % 3]}::${i.toString(16)}`);
const mapped = v4.map((a) => `::ffff:${a}`);

function measure(name: string, addrs: string[], fn: (ip: string) => boolean): number {
  const n = 2_000_000;
  let hits = 0;
  for (let i = 0; i < 200_000; i++) if (fn(addrs[i & 1023])) hits++;
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (fn(addrs[i & 1023])) hits++;
  const ns = Number(process.hrtime.bigint() - t) / n;
  console.log(`${name.padEnd(28)} ${ns.toFixed(1).padStart(7)} ns/lookup  (hits ${hits})`);
  return ns;
}

for (const [label, addrs, fam] of [
  ['ipv4', v4, 'ipv4'],
  ['ipv6', v6, 'ipv6'],
  ['::ffff: mapped', mapped, 'ipv6'],
] as const) {
  const a = measure(`cidr.ts ${label}`, addrs as string[], (ip) => ours.contains(ip));
  const b = measure(`BlockList ${label}`, addrs as string[], (ip) => bl.check(ip, fam));
  console.log(`  → cidr.ts is ${(b / a).toFixed(1)}x faster\n`);
}
