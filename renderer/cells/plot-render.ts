/**
 * Turns a PlotSpec and its data into an Observable Plot figure. Dot plots with many points draw their dots on a
 * canvas laid over the plot's frame (axes, legend and scales still come from Plot), so 100k+ points stay fast.
 */
import * as Plot from "@observablehq/plot";
import type { PlotSpec } from "../../shared/notebook/model";
import type { PlotData } from "../stores/plot-data";

export const CANVAS_THRESHOLD = 5_000;

export interface RenderedPlot {
  element: HTMLElement | SVGSVGElement;
  canvas: HTMLCanvasElement | null;
}

function rows(data: PlotData): Record<string, unknown>[] {
  const names = Object.keys(data.columns);
  return Array.from({ length: data.length }, (_, i) => Object.fromEntries(names.map((n) => [n, data.columns[n][i]])));
}

function extent(values: unknown[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    const n = Number(v);
    if (Number.isFinite(n)) {
      if (n < lo) lo = n;
      if (n > hi) hi = n;
    }
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

export function usedColumns(spec: PlotSpec): string[] {
  return [...new Set([spec.x, spec.y, spec.fill, spec.stroke, spec.fx, spec.fy, spec.r].filter((c): c is string => !!c))];
}

export function renderPlot(spec: PlotSpec, data: PlotData, width: number): RenderedPlot {
  const common = { width, height: spec.fy ? undefined : 420, marginLeft: 56, grid: true, title: spec.title, style: { fontSize: "12px" } };
  const facet = { fx: spec.fx, fy: spec.fy };
  const color = spec.fill ?? spec.stroke;
  const colorLegend = color ? { legend: true } : undefined;

  if (spec.mark === "dot" && data.length > CANVAS_THRESHOLD && !spec.fx && !spec.fy && spec.x && spec.y) return renderDotCanvas(spec, data, width, common);

  const d = rows(data);
  let marks: Plot.Markish[];
  switch (spec.mark) {
    case "dot":
      marks = [Plot.dot(d, { x: spec.x, y: spec.y, fill: spec.fill, stroke: spec.stroke, r: spec.r ?? (d.length > 1000 ? 2 : 3), tip: spec.tip, ...facet })];
      break;
    case "bar":
      marks = spec.y
        ? [Plot.barY(d, { x: spec.x, y: spec.y, fill: spec.fill ?? "#0f766e", tip: spec.tip, ...facet, sort: { x: "-y" } }), Plot.ruleY([0])]
        : [Plot.barY(d, Plot.groupX({ y: "count" }, { x: spec.x, fill: spec.fill ?? "#0f766e", tip: spec.tip, ...facet })), Plot.ruleY([0])];
      break;
    case "line":
      marks = [Plot.line(d, { x: spec.x, y: spec.y, stroke: spec.stroke ?? spec.fill ?? "#0f766e", tip: spec.tip, ...facet })];
      break;
    case "rect":
      marks = [Plot.cell(d, { x: spec.x, y: spec.y, fill: spec.fill, tip: spec.tip, ...facet })];
      break;
    case "histogram":
      marks = [
        Plot.rectY(d, Plot.binX({ y: "count" }, { x: spec.x, fill: spec.fill ?? "#0f766e", tip: spec.tip, ...facet } as Parameters<typeof Plot.binX>[1])),
        Plot.ruleY([0]),
      ];
      break;
  }
  const xLabelsRotate = spec.mark === "bar" ? { tickRotate: -30 } : {};
  const element = Plot.plot({
    ...common,
    marginBottom: spec.mark === "bar" ? 70 : 40,
    x: { ...xLabelsRotate },
    color: spec.mark === "rect" ? { legend: true, scheme: "viridis" } : colorLegend,
    marks,
  });
  return { element, canvas: null };
}

function renderDotCanvas(spec: PlotSpec, data: PlotData, width: number, common: Record<string, unknown>): RenderedPlot {
  const xs = data.columns[spec.x as string];
  const ys = data.columns[spec.y as string];
  const colorCol = spec.fill ?? spec.stroke;
  const colors = colorCol ? data.columns[colorCol] : null;
  const categorical = colors ? colors.some((v) => typeof v === "string") : false;
  const colorDomain = colors ? (categorical ? [...new Set(colors.map(String))].sort() : extent(colors)) : undefined;
  const element = Plot.plot({
    ...common,
    x: { domain: extent(xs), nice: true, label: spec.x },
    y: { domain: extent(ys), nice: true, label: spec.y },
    color: colors ? { domain: colorDomain, legend: true, type: categorical ? "categorical" : "linear" } : undefined,
    marks: [Plot.frame({ stroke: "#e5e7eb" })],
  });
  const svg = plotSvg(element);
  const plotWithScales = element as unknown as { scale(name: string): { apply(v: unknown): unknown } | undefined };
  const sx = plotWithScales.scale("x");
  const sy = plotWithScales.scale("y");
  const sc = colors ? plotWithScales.scale("color") : undefined;
  const w = Number(svg.getAttribute("width") ?? width);
  const h = Number(svg.getAttribute("height") ?? 420);
  const ratio = window.devicePixelRatio || 1;
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(w * ratio);
  canvas.height = Math.round(h * ratio);
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext("2d");
  if (ctx && sx && sy) {
    ctx.scale(ratio, ratio);
    ctx.globalAlpha = 0.75;
    const r = data.length > 50_000 ? 1.2 : 1.8;
    for (let i = 0; i < data.length; i++) {
      const px = Number(sx.apply(Number(xs[i])));
      const py = Number(sy.apply(Number(ys[i])));
      if (!Number.isFinite(px) || !Number.isFinite(py)) continue;
      ctx.fillStyle = sc && colors ? String(sc.apply(categorical ? String(colors[i]) : Number(colors[i]))) : "#0f766e";
      ctx.fillRect(px - r, py - r, 2 * r, 2 * r);
    }
  }
  return { element, canvas };
}

/** Puts a rendered plot (or nothing) into `host`, replacing what was there; the canvas layer sits over the frame. */
export function mountPlot(host: HTMLElement, rendered: RenderedPlot | null): RenderedPlot | null {
  host.replaceChildren();
  if (!rendered) return null;
  const wrap = document.createElement("div");
  wrap.className = "plot-stack";
  wrap.append(rendered.element);
  if (rendered.canvas) {
    plotSvg(rendered.element).after(rendered.canvas);
    rendered.canvas.className = "plot-canvas";
  }
  host.append(wrap);
  return rendered;
}

/**
 * The plot's own svg. With a legend or a title Plot returns a <figure> holding the legends first (a colour ramp is
 * an svg, each categorical swatch an svg inside a span) and the plot's svg after them, as its last svg child.
 */
function plotSvg(element: HTMLElement | SVGSVGElement): SVGSVGElement {
  if (element instanceof SVGSVGElement) return element;
  const own = [...element.children].filter((el): el is SVGSVGElement => el instanceof SVGSVGElement).at(-1);
  if (!own) throw new Error("Plot returned a figure without its svg");
  return own;
}

/** The figure as a standalone SVG string; a canvas layer is embedded as an image over the plot's frame. */
export function toSvgString(rendered: RenderedPlot): string {
  const svg = plotSvg(rendered.element);
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  if (rendered.canvas) {
    const img = document.createElementNS("http://www.w3.org/2000/svg", "image");
    img.setAttribute("href", rendered.canvas.toDataURL("image/png"));
    img.setAttribute("x", "0");
    img.setAttribute("y", "0");
    img.setAttribute("width", svg.getAttribute("width") ?? "0");
    img.setAttribute("height", svg.getAttribute("height") ?? "0");
    clone.appendChild(img);
  }
  return new XMLSerializer().serializeToString(clone);
}

export async function toPngBlob(rendered: RenderedPlot): Promise<Blob> {
  const svgText = toSvgString(rendered);
  const url = URL.createObjectURL(new Blob([svgText], { type: "image/svg+xml" }));
  try {
    const img = new Image();
    await new Promise<void>((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error("Could not render the plot to PNG"));
      img.src = url;
    });
    const canvas = document.createElement("canvas");
    canvas.width = img.width * 2;
    canvas.height = img.height * 2;
    const ctx = canvas.getContext("2d") as CanvasRenderingContext2D;
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return await new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("PNG encoding failed"))), "image/png"));
  } finally {
    URL.revokeObjectURL(url);
  }
}
