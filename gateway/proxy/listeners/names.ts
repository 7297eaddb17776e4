/** The names proxy.listen's and admin.listen's listeners go by in metrics, logs and events: no other listener's. */
export const PROXY_LISTENER = 'proxy';
export const ADMIN_LISTENER = 'admin';
