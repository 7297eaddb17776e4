/**
 * Spellings of the protected path `/admin/users` that an upstream framework
 * (Express, Spring/Tomcat, Go net/http, nginx) may read as that path, by
 * class. Through the gateway each must get the protected route's decision or
 * a 400, never the catch-all route (test/security/path-bypass.test.ts).
 */
export const SPELLINGS: Record<string, string[]> = {
  canonical: ['/admin/users', '/admin', '/admin/'],
  dot_segments: [
    '/admin/./users', '/./admin/users', '/x/../admin/users', '/x/y/../../admin/users', '/../admin/users', '/../../admin/users',
    '/admin/x/../users', '/admin/users/.', '/admin/users/x/..', '/x/./../admin/users', '/admin/.', '/x/../admin',
  ],
  escaped_dots: [
    '/x/%2e%2e/admin/users', '/x/%2E%2E/admin/users', '/x/.%2e/admin/users', '/x/%2e./admin/users', '/x/%2E./admin/users',
    '/%2e/admin/users', '/x/%2e%2E/admin', '/admin/%2e/users', '/x/%2e%2e/admin/', '/%2e%2e/admin/users',
  ],
  slashes: ['//admin/users', '///admin/users', '/admin//users', '//admin', '/.//admin', '/x/..//admin/users', '/x//..//admin'],
  escaped_unreserved: [
    '/%61dmin/users', '/%61%64%6d%69%6e/users', '/%61%64%6D%69%6E', '/adm%69n', '/admi%6e/users', '/a%64min/users', '/admin/%75sers',
    '/x/..//%61dmin', '/x/%2e%2e//%61dmin/users',
  ],
  escaped_separators: [
    '/x%2F..%2Fadmin/users', '/x/..%2Fadmin', '/x/..%2fadmin', '/admin%2Fusers', '/x/..%5Cadmin', '/x/..%5cadmin', '/%2Fadmin',
    '/x%5C..%5Cadmin', '/x\\..\\admin', '/admin\\users', '/x/..\\admin/users', '/%2F%2Fadmin',
  ],
  path_params: [
    '/admin;x/users', '/admin;/users', '/admin;jsessionid=1', '/x/..;/admin', '/x/..;x=1/admin/users', '/.;/admin/users',
    '/admin;a=b;c=d/users', '/x;y/../admin', '/admin/users;', '/admin;x',
  ],
  invalid_escapes: ['/admin%zz', '/admin%', '/admin%4', '/%zzadmin', '/admin/%g0', '/x/%2/../admin'],
  control_characters: ['/admin%00', '/admin%00/users', '/%00admin', '/admin%0a', '/admin%0d%0a', '/admin%09', '/admin%1f', '/admin%7f', '/x/%00/../admin'],
  invalid_utf8: [
    '/x/%c0%ae%c0%ae/admin', '/x/%e0%80%ae%e0%80%ae/admin', '/admin%c0%af', '/x%c0%af..%c0%afadmin', '/admin/%ff', '/admin%ed%a0%80',
    '/admin%c3', '/x/%c0%2e%c0%2e/admin',
  ],
  double_encoding: ['/x/%252e%252e/admin', '/%2561dmin', '/x/%252E%252E/admin', '/x%252F..%252Fadmin', '/%25%36%31dmin', '/x/%25%32%65%25%32%65/admin'],
  absolute_form: ['http://{host}/admin/users', 'http://{host}//admin', 'http://{host}/x/../admin', 'http://{host}/%61dmin'],
  fragments: ['/admin#x', '/x#/../admin'],
};

export const ALL_SPELLINGS = Object.entries(SPELLINGS).flatMap(([kind, list]) => list.map((path) => ({ kind, path })));
