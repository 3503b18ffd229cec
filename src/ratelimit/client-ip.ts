// The anonymous rate-limit subject: the client address Cloudflare reports (CF-Connecting-IP,
// which clients cannot set through Cloudflare). IPv6 clients usually hold a whole /64, so they are
// grouped by it — otherwise one client could rotate addresses to get fresh limits.

/** 8 hextets of an IPv6 address, or undefined when it is not one. */
function hextets(ip: string): number[] | undefined {
  const [head, tail, ...rest] = ip.split('::');
  if (rest.length > 0) return undefined;
  const parse = (s: string | undefined) => (s ? s.split(':') : []);
  let left = parse(head);
  let right = parse(tail);
  // An embedded IPv4 tail (::ffff:192.0.2.1) counts as two hextets.
  const last = (right.length ? right : left).at(-1);
  if (last?.includes('.')) {
    const octets = last.split('.').map(Number);
    if (octets.length !== 4 || octets.some((o) => !(o >= 0 && o <= 255))) return undefined;
    const v4 = [((octets[0]! << 8) | octets[1]!).toString(16), ((octets[2]! << 8) | octets[3]!).toString(16)];
    if (right.length) right = [...right.slice(0, -1), ...v4];
    else left = [...left.slice(0, -1), ...v4];
  }
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return groups.map((g) => parseInt(g, 16));
}

/** Subject key part for a client address: the IPv4 address, or the IPv6 /64 in canonical form. */
export function ipSubject(raw: string | undefined | null): string {
  const ip = (raw ?? '').trim();
  if (!ip) return 'unknown';
  if (!ip.includes(':')) return /^\d{1,3}(\.\d{1,3}){3}$/.test(ip) ? ip : 'invalid';
  const h = hextets(ip);
  if (!h) return 'invalid';
  return `${h
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(':')}::/64`;
}
