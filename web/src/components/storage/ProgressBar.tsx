/** A labelled progress bar (role progressbar); no value draws an indeterminate stripe. */
export function ProgressBar({
  label,
  value,
  detail,
  tone = "blue",
  testId,
}: {
  label: string;
  /** 0..100, or undefined while unknown. */
  value: number | undefined;
  detail?: string;
  tone?: "blue" | "green" | "amber" | "slate";
  testId?: string;
}) {
  const colour = {
    blue: "bg-blue-700",
    green: "bg-green-700",
    amber: "bg-amber-600",
    slate: "bg-slate-500",
  }[tone];
  return (
    <div className="min-w-0" data-testid={testId}>
      <div className="flex flex-wrap items-baseline justify-between gap-x-2 text-sm">
        <span className="font-medium text-slate-900">{label}</span>
        <span className="text-slate-700 tabular-nums">
          {detail}
          {value !== undefined ? `${detail ? " · " : ""}${value}%` : ""}
        </span>
      </div>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={value}
        aria-valuetext={value === undefined ? `${label}: in progress` : `${label}: ${value}%`}
        className="mt-1 h-2 w-full overflow-hidden rounded bg-slate-200"
      >
        {value === undefined ? (
          <div className={`h-full w-1/3 animate-pulse rounded ${colour}`} />
        ) : (
          <div
            className={`h-full rounded ${colour} transition-[width]`}
            style={{ width: `${value}%` }}
          />
        )}
      </div>
    </div>
  );
}
