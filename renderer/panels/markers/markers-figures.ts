/**
 * The Markers panel's figures with Observable Plot: volcano, dot plot (colour = mean, size = fraction expressing,
 * as scanpy), violin with a box inside (or boxes alone) of one gene by group, and a heatmap of means (optionally
 * z-scored per gene). Each returns the figure Plot made; the panel mounts it and exports it as SVG or PNG.
 */
import * as Plot from "@observablehq/plot";
import type { BoxRow, GroupCell, ViolinPoint, VolcanoPoint } from "../../stores/markers-plots";
import { VOLCANO_LFC, VOLCANO_PADJ } from "../../stores/markers-plots";

export type Figure = HTMLElement | SVGSVGElement;

const SIDE_COLOURS = { up: "#c2410c", down: "#1d4ed8", ns: "#c5ccd4" };
const FONT = { fontSize: "11.5px", background: "white" };

/** Room for the longest label at ~6.5 px per character, within bounds. */
function labelRoom(labels: string[], min: number, max: number): number {
  return Math.max(min, Math.min(max, Math.round(Math.max(0, ...labels.map((l) => l.length)) * 7) + 18));
}

function title(text: string | null): Partial<Plot.PlotOptions> {
  return text ? { title: text } : {};
}

/**
 * The labels that fit: in priority order, a label is dropped when its box (about 6.5 px per character, 13 px tall,
 * centred above its dot) would overlap one already placed, in the plot's own pixels.
 */
export function placeLabels(points: VolcanoPoint[], labels: VolcanoPoint[], frame: { width: number; height: number }): VolcanoPoint[] {
  const ext = (f: (p: VolcanoPoint) => number) => {
    const v = points.map(f).filter(Number.isFinite);
    const lo = Math.min(0, ...v);
    const hi = Math.max(0, ...v);
    return { lo, span: hi - lo || 1 };
  };
  const ex = ext((p) => p.logfoldchange);
  const ey = ext((p) => p.negLog10PvalAdj);
  const boxes: { x0: number; x1: number; y0: number; y1: number }[] = [];
  return labels.filter((p) => {
    const x = ((p.logfoldchange - ex.lo) / ex.span) * frame.width;
    const y = frame.height - ((p.negLog10PvalAdj - ey.lo) / ey.span) * frame.height - 8;
    const half = (p.symbol.length * 6.5) / 2;
    const box = { x0: x - half, x1: x + half, y0: y - 7, y1: y + 7 };
    if (boxes.some((b) => box.x0 < b.x1 && b.x0 < box.x1 && box.y0 < b.y1 && b.y0 < box.y1)) return false;
    boxes.push(box);
    return true;
  });
}

export function volcanoFigure(points: VolcanoPoint[], labels: VolcanoPoint[], selected: number | null, width: number, heading: string | null): Figure {
  const chosen = points.filter((p) => p.geneIntegerId === selected);
  const height = Math.round(Math.min(460, Math.max(320, width * 0.62)));
  const placed = placeLabels(points, labels, { width: width - 64, height: height - 58 });
  // Not significant first, so the coloured genes are drawn on top.
  const ordered = [...points.filter((p) => p.side === "ns"), ...points.filter((p) => p.side !== "ns")];
  return Plot.plot({
    ...title(heading),
    width,
    height,
    marginTop: 28,
    marginLeft: 48,
    marginRight: 16,
    style: FONT,
    grid: true,
    x: { label: "log2 fold change →", labelAnchor: "right" },
    y: { label: "↑ −log10 adjusted p", labelAnchor: "top" },
    color: { domain: ["up", "down", "ns"], range: [SIDE_COLOURS.up, SIDE_COLOURS.down, SIDE_COLOURS.ns] },
    marks: [
      Plot.ruleX([-VOLCANO_LFC, VOLCANO_LFC], { stroke: "#94a3b8", strokeDasharray: "3,3" }),
      Plot.ruleY([-Math.log10(VOLCANO_PADJ)], { stroke: "#94a3b8", strokeDasharray: "3,3" }),
      Plot.dot(ordered, {
        x: "logfoldchange",
        y: "negLog10PvalAdj",
        fill: "side",
        r: 2.6,
        fillOpacity: 0.85,
        channels: { gene: "symbol", rank: "rank", score: "score" },
        tip: { format: { fill: false, x: (v: number) => v.toFixed(2), y: (v: number) => v.toFixed(2), score: (v: number) => v.toFixed(2) } },
      }),
      Plot.text(placed, {
        x: "logfoldchange",
        y: "negLog10PvalAdj",
        text: "symbol",
        dy: -8,
        fontSize: 10.5,
        fontWeight: 600,
        fill: "#1f2933",
        stroke: "white",
        strokeWidth: 3,
      }),
      Plot.dot(chosen, { x: "logfoldchange", y: "negLog10PvalAdj", r: 7, stroke: "#111827", strokeWidth: 2, fill: "none" }),
    ],
  });
}

/** The frame shared by the dot plot and the heatmap: groups across (labels turned), genes down, sized to fit. */
function genesByGroups(genes: string[], groups: string[], cell: { w: number; h: number; pad: number }, width: number, heading: string | null) {
  const marginLeft = labelRoom(genes, 60, 160);
  const marginBottom = labelRoom(groups, 40, 130);
  return {
    ...title(heading),
    width: Math.min(width, marginLeft + cell.pad + groups.length * cell.w),
    height: 40 + marginBottom + genes.length * cell.h,
    marginLeft,
    marginBottom,
    marginTop: 16,
    style: FONT,
    x: { domain: groups, label: null, tickRotate: -35, tickSize: 0 },
    y: { domain: genes, label: null, tickSize: 0 },
  };
}

export function dotPlotFigure(cells: GroupCell[], genes: string[], groups: string[], unit: string, width: number, heading: string | null): Figure {
  return Plot.plot({
    ...genesByGroups(genes, groups, { w: 64, h: 28, pad: 40 }, width, heading),
    r: { type: "sqrt", domain: [0, 1], range: [0, 11] },
    color: { scheme: "reds", legend: true, label: `mean ${unit}`, zero: true },
    marks: [
      Plot.frame({ stroke: "#eef0f3" }),
      Plot.dot(cells, {
        x: "group",
        y: "gene",
        // A group where no cell expresses the gene keeps a speck, so every gene × group has its mark.
        r: (d: GroupCell) => Math.max(d.frac, 0.004),
        fill: "mean",
        stroke: "#9ca3af",
        strokeWidth: 0.5,
        channels: { "fraction expressing": "frac", cells: "cells" },
        tip: { format: { r: false, "fraction expressing": (v: number) => `${(v * 100).toFixed(1)}%`, fill: (v: number) => v.toFixed(3) } },
      }),
    ],
  });
}

export function heatmapFigure(
  cells: GroupCell[],
  genes: string[],
  groups: string[],
  unit: string,
  zscore: boolean,
  width: number,
  heading: string | null,
): Figure {
  return Plot.plot({
    ...genesByGroups(genes, groups, { w: 56, h: 24, pad: 30 }, width, heading),
    color: zscore
      ? { type: "diverging", scheme: "rdbu", reverse: true, pivot: 0, legend: true, label: "z-score of the mean" }
      : { scheme: "viridis", legend: true, label: `mean ${unit}` },
    marks: [
      Plot.cell(cells, {
        x: "group",
        y: "gene",
        fill: zscore ? "z" : "mean",
        inset: 0.5,
        channels: { mean: "mean", "fraction expressing": "frac" },
        tip: {
          format: { fill: (v: number) => v.toFixed(3), mean: (v: number) => v.toFixed(3), "fraction expressing": (v: number) => `${(v * 100).toFixed(1)}%` },
        },
      }),
    ],
  });
}

/** Violins (with a box inside) or boxes alone, one facet per group; whiskers span min to max. */
export function distributionFigure(
  violin: ViolinPoint[],
  boxes: BoxRow[],
  gene: string,
  unit: string,
  boxesOnly: boolean,
  width: number,
  heading: string | null,
): Figure {
  const groups = boxes.map((b) => b.group);
  const marginBottom = labelRoom(groups, 40, 130);
  const box = boxesOnly ? 0.28 : 0.08;
  return Plot.plot({
    ...title(heading),
    width: Math.min(width, 70 + groups.length * 72),
    height: 300 + marginBottom,
    marginLeft: 52,
    marginBottom,
    marginTop: 16,
    style: FONT,
    fx: { domain: groups, label: null, tickRotate: -35, tickSize: 0, padding: 0.08 },
    x: { domain: [-0.5, 0.5], axis: null },
    y: { label: `↑ ${gene} ${unit}`, labelAnchor: "top", grid: true, zero: true },
    marks: [
      ...(boxesOnly
        ? []
        : [
            Plot.areaX(violin, {
              fx: "group",
              y: "y",
              x1: (d: ViolinPoint) => -d.half,
              x2: (d: ViolinPoint) => d.half,
              fill: "#99d5cf",
              stroke: "#0f766e",
              strokeWidth: 0.8,
              curve: "basis",
            }),
          ]),
      Plot.ruleX(boxes, { fx: "group", x: 0, y1: "min", y2: "max", stroke: "#1f2933" }),
      Plot.rect(boxes, {
        fx: "group",
        x1: -box,
        x2: box,
        y1: "q1",
        y2: "q3",
        fill: boxesOnly ? "#e6f4f2" : "white",
        stroke: "#1f2933",
        channels: { median: "median", mean: "mean", "fraction expressing": "frac", cells: "cells", min: "min", max: "max" },
        tip: { format: { x1: false, x2: false, fx: true, "fraction expressing": (v: number) => `${(v * 100).toFixed(1)}%` } },
      }),
      Plot.ruleY(boxes, { fx: "group", y: "median", x1: -box, x2: box, stroke: "#c2410c", strokeWidth: 2 }),
    ],
  });
}

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * One standalone SVG of a figure for export: a title, then every svg Plot made (colour legend, then the plot)
 * stacked, so the file carries its legend and says what it shows.
 */
export function standaloneSvg(figure: Figure, heading: string, subtitle: string): SVGSVGElement {
  const parts = figure instanceof SVGSVGElement ? [figure] : [...figure.querySelectorAll("svg")].filter((s) => !s.parentElement?.closest("svg"));
  const out = document.createElementNS(SVG_NS, "svg");
  let y = 48;
  let width = 320;
  const text = (t: string, at: number, size: number, weight: number, fill: string) => {
    const el = document.createElementNS(SVG_NS, "text");
    el.setAttribute("x", "12");
    el.setAttribute("y", String(at));
    el.setAttribute("font-family", "system-ui, sans-serif");
    el.setAttribute("font-size", String(size));
    el.setAttribute("font-weight", String(weight));
    el.setAttribute("fill", fill);
    el.textContent = t;
    out.append(el);
  };
  const bg = document.createElementNS(SVG_NS, "rect");
  bg.setAttribute("width", "100%");
  bg.setAttribute("height", "100%");
  bg.setAttribute("fill", "white");
  out.append(bg);
  text(heading, 20, 14, 650, "#1f2933");
  text(subtitle, 38, 11, 400, "#6b7785");
  for (const part of parts) {
    const clone = part.cloneNode(true) as SVGSVGElement;
    const w = Number(part.getAttribute("width") ?? part.getBoundingClientRect().width);
    const h = Number(part.getAttribute("height") ?? part.getBoundingClientRect().height);
    // Plot's colour legend starts its ramp at its own left edge: a margin keeps the first tick and label whole.
    clone.setAttribute("x", "12");
    clone.setAttribute("y", String(y));
    clone.setAttribute("width", String(w));
    clone.setAttribute("height", String(h));
    out.append(clone);
    y += h + 6;
    width = Math.max(width, w + 24);
  }
  out.setAttribute("xmlns", SVG_NS);
  out.setAttribute("width", String(width));
  out.setAttribute("height", String(y));
  out.setAttribute("viewBox", `0 0 ${width} ${y}`);
  return out;
}
