import type { Metadata } from "next";

import { ShareView } from "./ShareView";

export const metadata: Metadata = {
  title: "Shared file · Co-operative Cloud",
  // The link's key rides in the fragment; keep the page out of referrers and indexes.
  referrer: "no-referrer",
  robots: { index: false, follow: false },
};

export default function SharePage() {
  return <ShareView />;
}
