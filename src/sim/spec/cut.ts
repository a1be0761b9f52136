/** Where a `reset` or `hang` cuts an answer short. */
export type Cut = { readonly at: "request" } | { readonly at: "headers" } | { readonly at: "chunks"; readonly n: number };

export function parseCut(text: string | undefined): Cut {
  if (text === undefined || text === "request") return { at: "request" };
  if (text === "headers") return { at: "headers" };
  return { at: "chunks", n: Number(text.slice("chunks:".length)) };
}
