import type http from "node:http";

/** Ends a response with a body held in parts (blocks as the upstream sent them): corked, so they leave in as few socket writes as one joined buffer would. */
export function endWithParts(res: http.ServerResponse, parts: readonly Buffer[]): void {
  res.cork();
  for (const p of parts) res.write(p);
  res.end();
}
