"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";

import { ConnectWallet } from "./ConnectWallet";

const PAGES = [
  { href: "/", label: "Overview" },
  { href: "/storage", label: "Storage" },
  { href: "/providers", label: "Providers" },
  { href: "/coop", label: "Co-op" },
  { href: "/governance", label: "Governance" },
];

export function Nav() {
  const path = usePathname();
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-3 px-4 py-3">
        <nav aria-label="Main" className="flex flex-wrap items-center gap-1">
          <Link href="/" className="mr-3 font-semibold text-slate-900">
            Co-operative Cloud
          </Link>
          {PAGES.map((p) => {
            const current = p.href === "/" ? path === "/" : path?.startsWith(p.href);
            return (
              <Link
                key={p.href}
                href={p.href}
                aria-current={current ? "page" : undefined}
                className={`rounded px-2 py-1 text-sm ${current ? "bg-slate-900 text-white" : "text-slate-700 hover:bg-slate-100"}`}
              >
                {p.label}
              </Link>
            );
          })}
        </nav>
        <ConnectWallet />
      </div>
    </header>
  );
}
