import { useEffect, useState } from "react";
import type { Api, Session } from "../lib/api";
import { SignedOut } from "../lib/api";
import { backoffDelay } from "../lib/backoff";
import { type DashboardModel, parseDashboardModel } from "../lib/entityModel";

export type ModelState =
  | { readonly state: "loading"; readonly problem?: string }
  | { readonly state: "ready"; readonly model: DashboardModel; readonly session: Session };

/** The session and the entity model, fetched after sign-in; retried with backoff while the backend is away. */
export function useDashboardModel(api: Api): ModelState {
  const [state, setState] = useState<ModelState>({ state: "loading" });
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async (attempt: number) => {
      try {
        const [session, body] = await Promise.all([api.session(), api.getJson("/api/entities")]);
        if (!stopped) setState({ state: "ready", model: parseDashboardModel(body), session });
      } catch (error) {
        if (stopped || error instanceof SignedOut) return; // on the way to the login page
        const problem = error instanceof Error ? error.message : String(error);
        setState({ state: "loading", problem });
        timer = setTimeout(() => void load(attempt + 1), backoffDelay(attempt));
      }
    };
    void load(0);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api]);
  return state;
}
