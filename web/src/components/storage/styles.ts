// Button and field looks shared by the Storage and Share pages (contrast ≥ 4.5:1, visible focus
// from globals.css, disabled states that still read).
export const btnPrimary =
  "inline-flex items-center justify-center rounded bg-blue-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-800 disabled:cursor-not-allowed disabled:bg-slate-400";
export const btnSecondary =
  "inline-flex items-center justify-center rounded border border-slate-400 bg-white px-3 py-1.5 text-sm font-medium text-slate-900 hover:bg-slate-100 disabled:cursor-not-allowed disabled:text-slate-500";
export const btnDanger =
  "inline-flex items-center justify-center rounded bg-red-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-red-800 disabled:cursor-not-allowed disabled:bg-slate-400";
export const input =
  "w-24 rounded border border-slate-400 bg-white px-2 py-1 text-sm text-slate-900 tabular-nums";
export const card = "rounded-lg border border-slate-200 bg-white p-4 shadow-sm";
