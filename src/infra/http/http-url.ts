/**
 * An http(s) URL as a deployer's address or a token issuer is written: a DNS name or IPv4 host
 * (ASCII: an internationalised name in its xn-- form), an optional port and path, no query or
 * fragment (OpenID Connect forbids both in an issuer). Stricter than "http(s):// and no spaces"
 * because what is accepted is stored and given back: a host such as `a[` is refused by every URL
 * parser that later reads it (Node's, Python's), and one client's crash is a 201 here.
 */
export const HTTP_URL = /^https?:\/\/[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?(\/[^\s?#]*)?$/;
