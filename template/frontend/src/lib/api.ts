/**
 * Every HTTP call the page makes to its backend: same origin, so the browser
 * sends the HttpOnly session cookie set by the login page (the page never
 * holds the token itself). A 401 means the session is gone (expired, signed
 * out elsewhere, or the token was changed): the page goes back to the login.
 */

export const LOGIN_PATH = "/login";
export const SESSION_PATH = "/api/session";

export class SignedOut extends Error {
  constructor() {
    super("the session has ended: sign in again");
    this.name = "SignedOut";
  }
}

export interface ApiOptions {
  /** Origin of the backend; the page's own by default. */
  readonly baseUrl?: string;
  /** Called once per 401; by default the browser goes to the login page. */
  readonly onSignedOut?: () => void;
}

export interface Session {
  /** False when the backend runs without AUTH_TOKEN: there is nothing to sign out of. */
  readonly required: boolean;
}

export class Api {
  private readonly baseUrl: string;
  private readonly onSignedOut: () => void;

  constructor(options: ApiOptions = {}) {
    this.baseUrl = options.baseUrl ?? window.location.origin;
    this.onSignedOut = options.onSignedOut ?? (() => window.location.assign(LOGIN_PATH));
  }

  /** fetch() with the session cookie; a 401 signs the page out and throws {@link SignedOut}. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const response = await fetch(new URL(path, this.baseUrl), { ...init, credentials: "same-origin" });
    if (response.status === 401) {
      this.onSignedOut();
      throw new SignedOut();
    }
    return response;
  }

  async getJson(path: string): Promise<unknown> {
    const response = await this.fetch(path, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${path} answered HTTP ${response.status}`);
    return (await response.json()) as unknown;
  }

  async session(): Promise<Session> {
    const body = await this.getJson(SESSION_PATH);
    const required = typeof body === "object" && body !== null && "required" in body ? body.required : undefined;
    if (typeof required !== "boolean") throw new Error(`${SESSION_PATH} answered without "required"`);
    return { required };
  }

  /** Ends the session: the backend clears the cookie, the page shows the login. */
  async signOut(): Promise<void> {
    try {
      await this.fetch(SESSION_PATH, { method: "DELETE" });
    } catch (error) {
      if (error instanceof SignedOut) return; // already signed out: onSignedOut has run
      throw error;
    }
    this.onSignedOut();
  }
}
