"use client";
// Re-renders a component once the token's units are known (CoopProvider reads them and makes
// them formatAmount's default); the same query, with the same reader, so either can run it.
import { setDefaultTokenUnits } from "@coop-cloud/sdk/client";
import { useQuery } from "@tanstack/react-query";

import { useCoop } from "./coop";

export function useTokenUnits() {
  const { coop } = useCoop();
  return useQuery({
    queryKey: ["token-units", coop?.addresses.FaucetToken],
    enabled: !!coop,
    queryFn: async () => {
      const [decimals, symbol] = await Promise.all([
        coop!.token.read.decimals(),
        coop!.token.read.symbol(),
      ]);
      setDefaultTokenUnits({ decimals, symbol });
      return { decimals, symbol };
    },
    staleTime: Infinity,
  }).data;
}
