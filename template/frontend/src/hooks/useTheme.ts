import { useEffect } from "react";
import { usePersistentState } from "./usePersistentState";

/** Dark mode: the system's choice until the user picks one, which is remembered. */
export function useTheme(): [boolean, () => void] {
  const [theme, setTheme] = usePersistentState<"light" | "dark" | null>("dashboard.theme", null);
  const dark = theme === null ? window.matchMedia?.("(prefers-color-scheme: dark)").matches === true : theme === "dark";
  useEffect(() => {
    document.documentElement.classList.toggle("dark", dark);
  }, [dark]);
  return [dark, () => setTheme(dark ? "light" : "dark")];
}
