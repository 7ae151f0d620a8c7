/**
 * Enough of a browser for login flows: follows redirects itself, keeps cookies per host (as
 * browsers do, whatever the port), reads a page's first form and submits it.
 */
export interface Page {
  url: string;
  status: number;
  headers: Headers;
  body: string;
  /** Every Set-Cookie line met on the way here, in order. */
  setCookies: string[];
}

const MAX_REDIRECTS = 20;

export class Browser {
  private readonly jar = new Map<string, Map<string, string>>();

  /** Goes to `url` and follows redirects until a page answers, or a URL for which `stopAt` holds. */
  async open(
    url: string,
    options: { stopAt?: (url: URL) => boolean; init?: RequestInit } = {},
  ): Promise<Page> {
    let target = new URL(url);
    let init: RequestInit = options.init ?? {};
    const setCookies: string[] = [];
    for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
      if (hop > 0 && options.stopAt?.(target)) {
        return { url: target.href, status: 0, headers: new Headers(), body: '', setCookies };
      }
      const response = await fetch(target, {
        ...init,
        redirect: 'manual',
        headers: { ...(init.headers as Record<string, string>), ...this.cookieHeader(target) },
      });
      for (const line of response.headers.getSetCookie()) {
        setCookies.push(line);
        this.store(target, line);
      }
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        target = new URL(location, target);
        init = {}; // a redirect after a form POST is a GET (303, and 302 as browsers treat it)
        continue;
      }
      return {
        url: target.href,
        status: response.status,
        headers: response.headers,
        body: await response.text(),
        setCookies,
      };
    }
    throw new Error(`more than ${MAX_REDIRECTS} redirects from ${url}`);
  }

  /** Submits the page's first form with its fields (hidden ones included) and these values. */
  submitForm(
    page: Page,
    values: Record<string, string> = {},
    options: { stopAt?: (url: URL) => boolean } = {},
  ): Promise<Page> {
    const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(page.body);
    if (!form) {
      throw new Error(`no form on ${page.url}: ${page.body.slice(0, 200)}`);
    }
    const action = attribute(form[1]!, 'action') ?? page.url;
    const fields = new URLSearchParams();
    for (const input of form[2]!.matchAll(/<input\b([^>]*)>/gi)) {
      const name = attribute(input[1]!, 'name');
      if (name) {
        fields.set(name, values[name] ?? attribute(input[1]!, 'value') ?? '');
      }
    }
    return this.open(new URL(action, page.url).href, {
      ...options,
      init: {
        method: 'POST',
        body: fields,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
    });
  }

  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name);
  }

  private cookieHeader(url: URL): Record<string, string> {
    const cookies = [...(this.jar.get(url.hostname) ?? new Map<string, string>())];
    return cookies.length > 0
      ? { cookie: cookies.map(([name, value]) => `${name}=${value}`).join('; ') }
      : {};
  }

  private store(url: URL, line: string): void {
    const [pair, ...attributes] = line.split(';');
    const separator = pair!.indexOf('=');
    const name = pair!.slice(0, separator).trim();
    const value = pair!.slice(separator + 1).trim();
    const cookies = this.jar.get(url.hostname) ?? new Map<string, string>();
    this.jar.set(url.hostname, cookies);
    const expired = attributes.some(
      (a) =>
        /^\s*max-age=\s*(0|-\d+)\s*$/i.test(a) ||
        (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()),
    );
    if (expired || value === '') {
      cookies.delete(name);
    } else {
      cookies.set(name, value);
    }
  }
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`, 'i').exec(tag);
  return match?.[1]
    ?.replace(/&amp;/g, '&')
    .replace(/&#x2F;/gi, '/')
    .replace(/&quot;/g, '"');
}
