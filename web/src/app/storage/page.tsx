import type { Metadata } from "next";

import { Files } from "./Files";
import { Upload } from "./Upload";

export const metadata: Metadata = { title: "Storage · Co-operative Cloud" };

export default function StoragePage() {
  return (
    <div className="space-y-6">
      <header>
        <h1 className="text-2xl font-semibold">Storage</h1>
        <p className="mt-1 text-slate-700">
          Store files with the co-op&apos;s providers, see their health, download, extend, cancel
          and share them.
        </p>
      </header>
      <Upload />
      <Files />
    </div>
  );
}
