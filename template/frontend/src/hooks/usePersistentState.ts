import { useEffect, useState } from "react";

/** State remembered in localStorage (falls back to memory when storage is unavailable). */
export function usePersistentState<T>(key: string, initial: T): [T, (value: T) => void] {
  const [value, setValue] = useState<T>(() => {
    try {
      const stored = localStorage.getItem(key);
      return stored === null ? initial : (JSON.parse(stored) as T);
    } catch {
      return initial;
    }
  });
  useEffect(() => {
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch {
      // Private mode or quota: remembering is best effort.
    }
  }, [key, value]);
  return [value, setValue];
}
