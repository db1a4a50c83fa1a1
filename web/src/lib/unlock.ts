"use client";
// Whether the wallet's storage key was derived this session (its signature given), so pages
// know if opening manifests would ask the wallet again. Only the session objects are remembered
// (in memory); the key stays inside the KeySession.
import type { KeySession } from "@coop-cloud/sdk/client";
import { useCallback, useEffect, useState } from "react";

const unlocked = new WeakSet<KeySession>();
const listeners = new Set<() => void>();

/** Derives the key (asks the wallet for its signature unless done this session). */
export async function unlockKeys(keys: KeySession): Promise<void> {
  const kek = await keys.kek();
  kek.fill(0);
  markUnlocked(keys);
}

export function markUnlocked(keys: KeySession): void {
  if (unlocked.has(keys)) return;
  unlocked.add(keys);
  for (const l of listeners) l();
}

/** True once `keys` holds its derived key. */
export function useUnlocked(keys: KeySession | undefined): boolean {
  const [, bump] = useState(0);
  const onChange = useCallback(() => bump((x) => x + 1), []);
  useEffect(() => {
    listeners.add(onChange);
    return () => void listeners.delete(onChange);
  }, [onChange]);
  return keys !== undefined && unlocked.has(keys);
}
