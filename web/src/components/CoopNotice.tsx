"use client";
import { useCoop } from "@/lib/coop";

/** Says why the co-op cannot be reached (no deployment for the chain), once, on every page. */
export function CoopNotice() {
  const { error } = useCoop();
  if (!error) return null;
  return (
    <p
      role="alert"
      className="mb-4 rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-900"
    >
      {error}
    </p>
  );
}
