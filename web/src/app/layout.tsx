import type { Metadata } from "next";
import type { ReactNode } from "react";

import { Nav } from "@/components/Nav";
import { CoopNotice } from "@/components/CoopNotice";

import "./globals.css";
import { Providers } from "./providers";

export const metadata: Metadata = {
  title: "Co-operative Cloud",
  description: "Storage owned and governed by its members",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-slate-50 text-slate-900">
        <Providers>
          <Nav />
          <main className="mx-auto max-w-6xl px-4 py-6">
            <CoopNotice />
            {children}
          </main>
        </Providers>
      </body>
    </html>
  );
}
