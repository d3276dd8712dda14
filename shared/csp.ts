/**
 * The renderer's Content Security Policy, one string for both modes. `connect-src 'self'` covers the
 * browser-mode WebSocket in Chromium (ws: to the same host:port counts as 'self'); blob: workers are Monaco's and
 * the Explore scatter's spatial index. 'unsafe-eval' is for regl (under regl-scatterplot, the Explore view's WebGL
 * scatter), which compiles its draw commands with `Function`; inline scripts and handlers stay refused.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
