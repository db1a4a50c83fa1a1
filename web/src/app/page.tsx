"use client";
import { useQuery } from "@tanstack/react-query";

import { useCoop } from "@/lib/coop";

export default function OverviewPage() {
  const { coop } = useCoop();
  const block = useQuery({
    queryKey: ["block"],
    enabled: !!coop,
    queryFn: () => coop!.publicClient.getBlockNumber(),
  });
  return (
    <section>
      <h1 className="text-2xl font-semibold">Co-operative Cloud</h1>
      <p>Block {block.data?.toString() ?? "…"}</p>
    </section>
  );
}
