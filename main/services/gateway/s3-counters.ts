/** Accounting of the gateway's S3 side, over every S3 upstream: the S3 counterpart of counters.ts. */
import { UpstreamCounters, type CommonCounters } from "./upstream-counters";

/** Upstream S3 request kinds: ListObjectsV2, GetObject, HeadObject. */
export type S3RequestKind = "list" | "get" | "head";

export type S3SourceCounters = CommonCounters<S3RequestKind> & {
  source: "s3";
  /** The upstream endpoints used since start, e.g. ["http://127.0.0.1:7480", "https://s3.amazonaws.com"]. */
  endpoints: string[];
  /** 503 SlowDown answers received (waited out, never passed on to Lance). */
  slowDowns: number;
};

export class S3Counters extends UpstreamCounters<S3RequestKind> {
  readonly endpoints = new Set<string>();
  slowDowns = 0;

  constructor() {
    super({ list: 0, get: 0, head: 0 });
  }

  snapshot(): S3SourceCounters {
    return { source: "s3", endpoints: [...this.endpoints], ...this.common(), slowDowns: this.slowDowns };
  }
}
