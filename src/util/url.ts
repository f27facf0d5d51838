/**
 * Credentials written into a layer URL (`https://x-access-token:<token>@github.com/...`, the way
 * many workflows reach private layers) must reach neither a log, nor the job summary, nor an
 * output: the secret is masked on the runner and the URL shown without it.
 */

/** `scheme://userinfo@` at the start of a URL; scp-like `git@host:path` has no credentials. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*)@/i;

/**
 * The secret part of a URL's userinfo: the password, or for http(s) a lone user name, since
 * tokens are often written as one (`https://<token>@github.com/...`). SSH user names are not secrets.
 */
export function urlSecret(url: string): string | undefined {
  const m = USERINFO.exec(url);
  if (!m) return undefined;
  const userinfo = decodeURIComponentSafe(m[2]!);
  const colon = userinfo.indexOf(':');
  if (colon >= 0) return userinfo.slice(colon + 1) || undefined;
  return /^https?:\/\/$/i.test(m[1]!) ? userinfo || undefined : undefined;
}

/** The URL as shown to people: any userinfo replaced by `***` (other text is left as it is). */
export function shownUrl(url: string): string {
  return url.replace(USERINFO, '$1***@');
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Text that may quote the URL (git's own error lines), with the URL's secret replaced by `***`. */
export function withoutUrlSecret(text: string, url: string): string {
  const secret = urlSecret(url);
  return secret ? text.split(secret).join('***') : text;
}
