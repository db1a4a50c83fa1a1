import type { ReactNode } from "react";

/** One live figure: a label, its value (or a placeholder while loading) and a note under it. */
export function Figure({
  label,
  value,
  note,
  testId,
}: {
  label: string;
  value: ReactNode | undefined;
  note?: ReactNode;
  testId?: string;
}) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4">
      <dt className="text-sm text-slate-600">{label}</dt>
      <dd className="mt-1 text-xl font-semibold break-words text-slate-900" data-testid={testId}>
        {value ?? <span className="text-slate-500">…</span>}
      </dd>
      {note !== undefined && <dd className="mt-1 text-sm text-slate-600">{note}</dd>}
    </div>
  );
}

/** A titled block of a page. */
export function Panel({
  title,
  children,
  id,
  actions,
}: {
  title: string;
  children: ReactNode;
  id?: string;
  actions?: ReactNode;
}) {
  const headingId = id ? `${id}-title` : undefined;
  return (
    <section
      aria-labelledby={headingId}
      id={id}
      className="mt-6 rounded-lg border border-slate-200 bg-white p-4"
    >
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id={headingId} className="text-lg font-semibold">
          {title}
        </h2>
        {actions}
      </div>
      <div className="mt-3">{children}</div>
    </section>
  );
}

/** A read that failed, in one sentence. */
export function ReadError({ error }: { error: unknown }) {
  if (!error) return null;
  const message = (error as Error)?.message?.split("\n")[0] ?? String(error);
  return (
    <p
      role="alert"
      className="rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-900"
    >
      Could not read from the chain: {message}
    </p>
  );
}

/** The chain's RPC does not answer: said once at the top of a page. */
export function ChainDown({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <p
      role="alert"
      className="mt-4 rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-900"
    >
      {message}
    </p>
  );
}
