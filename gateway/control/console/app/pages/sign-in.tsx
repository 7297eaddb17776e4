import { useState } from 'preact/hooks';
import { get, token } from '../api.ts';
import { messageOf } from '../ui/hooks.ts';
import { Field, Notice } from '../ui/parts.tsx';

/** The admin API wants a token: asked for here and kept in this tab (sessionStorage) only. */
export function SignIn(props: { onDone: () => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    token.set(value.trim());
    try {
      await get('/config/history?limit=1');
      props.onDone();
    } catch (err) {
      token.clear();
      setError(messageOf(err));
    }
  };
  return (
    <main class="sign-in">
      <h1>Tollgate console</h1>
      <p>This gateway's admin API needs its token (admin.token).</p>
      <form onSubmit={submit}>
        <Field id="token" label="Admin token" error={error}>
          <input
            id="token"
            type="password"
            autocomplete="current-password"
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
            aria-invalid={error !== undefined}
            required
          />
        </Field>
        <button type="submit">Sign in</button>
      </form>
      <Notice kind="info">The token stays in this browser tab; it is never put in a URL.</Notice>
    </main>
  );
}
