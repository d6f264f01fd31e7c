// The browser host hands out its token in the page URL (?token=…). It is kept in sessionStorage so
// a reload of this tab still works, and taken out of the address bar so it does not end up in
// screenshots, history or a link pasted into a chat.
const storageKey = 'flightdeck.token';

export function takePageToken(): string | undefined {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    try {
      window.sessionStorage.setItem(storageKey, fromUrl);
    } catch {
      // Storage can be disabled; the token still works for this page's lifetime.
    }
    url.searchParams.delete('token');
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  try {
    return window.sessionStorage.getItem(storageKey) ?? undefined;
  } catch {
    return undefined;
  }
}
