"use client";
// A shared file, opened without a wallet: the share link is read from the address's fragment
// (never sent to a server), the encrypted manifest fetched from a provider and opened with the
// link's key, then the file fetched, verified and decrypted in this browser.
import { formatBytes, getFile } from "@coop-cloud/sdk/client";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import { DownloadProgress } from "@/components/storage/DownloadProgress";
import { btnPrimary, card } from "@/components/storage/styles";
import { useCoop } from "@/lib/coop";
import { linkFromHash } from "@/lib/storage";
import { errorSentence } from "@/lib/tx";
import { useDownload } from "@/lib/useDownload";

export function ShareView() {
  const { coop } = useCoop();
  const [link, setLink] = useState<string>();
  const download = useDownload();

  useEffect(() => {
    const read = () => setLink(linkFromHash(window.location.hash));
    read();
    window.addEventListener("hashchange", read);
    return () => window.removeEventListener("hashchange", read);
  }, []);

  const opened = useQuery({
    // The key never enters a query key's cache beyond this page's memory.
    queryKey: ["shared-manifest", link],
    enabled: !!coop && !!link,
    retry: false,
    staleTime: Infinity,
    gcTime: 0,
    queryFn: async () => {
      const f = await getFile(coop!, { shareLink: link! });
      return {
        name: f.manifest.name,
        size: f.manifest.size,
        mimeType: f.manifest.mimeType,
        createdAt: f.manifest.createdAt,
        dealId: f.dealId,
      };
    },
  });

  let body;
  if (link === undefined) body = <p className="text-sm text-slate-700">Reading the link…</p>;
  else if (link === "")
    body = (
      <p role="alert" className="text-sm text-red-800">
        This address holds no share link: ask the file&apos;s owner for the whole link (it ends with
        a key after a second <code>#</code>).
      </p>
    );
  else if (!coop || opened.isPending)
    body = <p className="text-sm text-slate-700">Opening the shared file…</p>;
  else if (opened.isError)
    body = (
      <p role="alert" className="text-sm text-red-800" data-testid="share-error">
        This link does not open a file: {errorSentence(opened.error)}
      </p>
    );
  else {
    const f = opened.data;
    body = (
      <div data-testid="shared-file">
        <p className="text-lg font-medium break-all" data-testid="shared-name">
          {f.name}
        </p>
        <p className="text-sm text-slate-800">
          {formatBytes(f.size)} · {f.mimeType}
          {f.dealId !== undefined && ` · deal ${f.dealId}`}
        </p>
        <button
          type="button"
          className={`${btnPrimary} mt-3`}
          disabled={download.running}
          onClick={() =>
            void download.start((o) => getFile(coop!, { shareLink: link }, o), {
              name: f.name,
              size: f.size,
            })
          }
        >
          Download {f.name}
        </button>
        <DownloadProgress state={download.state} onCancel={download.cancel} />
      </div>
    );
  }

  return (
    <section className={card} aria-labelledby="share-h">
      <h1 id="share-h" className="mb-3 text-2xl font-semibold">
        Shared file
      </h1>
      {body}
      <p className="mt-4 text-xs text-slate-700">
        No wallet needed: the file is fetched from the co-op&apos;s providers, checked against its
        fingerprints and decrypted in this browser with the key in the link.
      </p>
    </section>
  );
}
