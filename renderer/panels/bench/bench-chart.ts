/**
 * The MiB/s chart in the style of SLAF's Hugging Face announcement: one horizontal bar per source, fastest on top,
 * each labelled with its value, a title and a subtitle inside the SVG so an exported file stands on its own.
 */
import * as Plot from "@observablehq/plot";
import type { BenchSourceKind } from "../../../shared/ipc/contract";
import { formatMiBs, kindName, type ChartBar } from "../../stores/bench-results";

export const KIND_COLOURS: Record<BenchSourceKind, string> = { local: "#0f766e", s3: "#c2410c", hf: "#d4a106" };

const BAR_ROW = 40;
const CHAR_PX = 6.6;

export interface ChartText {
  title: string;
  subtitle: string;
}

/** The chart; with `text`, a title and a subtitle drawn above the bars (for exported files: the panel says it around it). */
export function renderBenchChart(bars: ChartBar[], text: ChartText | null, width: number): SVGSVGElement | HTMLElement {
  const longest = Math.max(10, ...bars.map((b) => b.label.length));
  const marginLeft = Math.min(Math.round(longest * CHAR_PX) + 16, Math.round(width * 0.45));
  const marginTop = text ? 60 : 8;
  const kinds = [...new Set(bars.map((b) => b.source))];
  return Plot.plot({
    width,
    height: marginTop + 40 + bars.length * BAR_ROW,
    marginTop,
    marginLeft,
    marginRight: 64,
    marginBottom: 36,
    style: { fontSize: "12px", background: "white" },
    x: { label: "MiB/s →", labelAnchor: "right", grid: true, nice: true },
    y: { label: null, domain: bars.map((b) => b.label), tickSize: 0, padding: 0.25 },
    color: { domain: kinds, range: kinds.map((k) => KIND_COLOURS[k]) },
    marks: [
      Plot.barX(bars, { x: "mib", y: "label", fill: "source", title: (b: ChartBar) => `${b.uri}\n${formatMiBs(b.mib)} MiB/s (${kindName(b.source)})` }),
      Plot.text(bars, { x: "mib", y: "label", text: (b: ChartBar) => formatMiBs(b.mib), dx: 6, textAnchor: "start", fontWeight: 600, fill: "#1f2933" }),
      Plot.ruleX([0]),
      ...(text
        ? [
            Plot.text([text.title], { frameAnchor: "top-left", dx: -marginLeft + 10, dy: -marginTop + 14, textAnchor: "start", fontSize: 15, fontWeight: 650 }),
            Plot.text([text.subtitle], {
              frameAnchor: "top-left",
              dx: -marginLeft + 10,
              dy: -marginTop + 34,
              textAnchor: "start",
              fontSize: 11.5,
              fill: "#6b7785",
            }),
          ]
        : []),
    ],
  });
}

/** Saves a blob as a download (the chart's SVG or PNG). */
export function downloadBlob(blob: Blob, name: string): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
