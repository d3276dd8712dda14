import { expect, test, type Locator } from "@playwright/test";
import { useAppServer } from "./app-server";
import { env, openApp, openDataset, screenshot } from "./helpers";
import { addPlot, newNotebook, runNamedSql } from "./notebook-helpers";

const app = useAppServer();

interface CanvasCheck {
  canvasSize: [number, number];
  svgSize: [number, number];
  /** Canvas and plot svg on the page (they must coincide). */
  canvasBox: [number, number, number, number];
  svgBox: [number, number, number, number];
  frame: { x: number; y: number; width: number; height: number };
  painted: number;
  outsideFrame: number;
  /** Bounding box of the painted pixels, CSS px. */
  paintedBox: [number, number, number, number];
  /** Distinct colours among the painted pixels (alpha ignored). */
  colours: number;
  /** Of the legend's swatch colours, how many appear on the canvas. */
  swatchesPainted: number;
  swatches: number;
  ramp: boolean;
}

/** Reads the canvas layer of a plot cell back, pixel by pixel, and measures it against the plot's own svg and frame. */
async function checkCanvas(plot: Locator): Promise<CanvasCheck> {
  return plot.getByTestId("plot-figure").evaluate((host) => {
    const canvas = host.querySelector("canvas.plot-canvas") as HTMLCanvasElement;
    const root = host.querySelector(".plot-stack")!.firstElementChild!;
    const svg = (root instanceof SVGSVGElement ? root : [...root.children].filter((el) => el instanceof SVGSVGElement).at(-1)) as SVGSVGElement;
    const frameRect = svg.querySelector('[aria-label="frame"]') as SVGRectElement;
    const frame = { x: frameRect.x.baseVal.value, y: frameRect.y.baseVal.value, width: frameRect.width.baseVal.value, height: frameRect.height.baseVal.value };
    const ratio = canvas.width / canvas.clientWidth;
    const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    const box = (r: DOMRect): [number, number, number, number] => [r.left, r.top, r.width, r.height];
    const swatchColours = [...host.querySelectorAll("[class*='-swatches'] svg")].map((r) => {
      const c = (r.getAttribute("fill") ?? "").match(/[0-9a-f]{2}/gi)?.map((h) => parseInt(h, 16)) ?? [];
      return c.length === 3 ? c : null;
    });
    const found = new Set<number>();
    const colours = new Set<number>();
    let painted = 0;
    let outsideFrame = 0;
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    const slack = 3; // a dot's radius
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] === 0) continue;
      painted++;
      const px = ((i / 4) % canvas.width) / ratio;
      const py = Math.floor(i / 4 / canvas.width) / ratio;
      if (px < frame.x - slack || px > frame.x + frame.width + slack || py < frame.y - slack || py > frame.y + frame.height + slack) outsideFrame++;
      [x0, y0, x1, y1] = [Math.min(x0, px), Math.min(y0, py), Math.max(x1, px), Math.max(y1, py)];
      colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      swatchColours.forEach((c, k) => {
        if (c && Math.abs(c[0] - data[i]) + Math.abs(c[1] - data[i + 1]) + Math.abs(c[2] - data[i + 2]) < 12) found.add(k);
      });
    }
    return {
      canvasSize: [canvas.clientWidth, canvas.clientHeight],
      svgSize: [svg.width.baseVal.value, svg.height.baseVal.value],
      canvasBox: box(canvas.getBoundingClientRect()),
      svgBox: box(svg.getBoundingClientRect()),
      frame,
      painted,
      outsideFrame,
      paintedBox: [x0, y0, x1 - x0, y1 - y0],
      colours: colours.size,
      swatchesPainted: found.size,
      swatches: swatchColours.length,
      ramp: host.querySelector("svg[class$='-ramp']") !== null,
    };
  }) as Promise<CanvasCheck>;
}

function expectPointsInFrame(c: CanvasCheck): void {
  expect(c.canvasSize).toEqual(c.svgSize);
  c.canvasBox.forEach((v, i) => expect(Math.abs(v - c.svgBox[i])).toBeLessThan(1));
  expect(c.painted).toBeGreaterThan(20_000);
  expect(c.outsideFrame).toBe(0);
  // The points span the data's extent, which the frame wraps (with a little "nice" rounding).
  expect(c.paintedBox[2]).toBeGreaterThan(0.85 * c.frame.width);
  expect(c.paintedBox[3]).toBeGreaterThan(0.85 * c.frame.height);
}

test("a 250,000-point dot plot draws its points inside the frame, coloured by a category, a number or nothing", async ({ page }) => {
  test.setTimeout(180_000);
  await openApp(page, app.url);
  await openDataset(page, env("E2E_BIG"));
  await page.getByTestId("nav-notebook").click();
  await expect(page.getByTestId("sql-cell").first()).toBeVisible();
  await newNotebook(page);
  const cell = await runNamedSql(
    page,
    "points",
    "SELECT e.gene_integer_id AS gene, e.cell_integer_id AS cell, e.value, c.cell_type FROM expression e JOIN cells c ON c.cell_integer_id = e.cell_integer_id WHERE e.cell_integer_id < 300",
  );
  await expect(cell.getByTestId("result-count")).toHaveText(/^2\d\d,\d{3} rows$/, { timeout: 60_000 });

  const plot = await addPlot(page, "points", { x: "gene", y: "cell", fill: "cell_type" });
  const canvas = plot.locator("canvas.plot-canvas");
  await expect(plot).toContainText("Showing the first 250,000 of", { timeout: 60_000 });
  await expect(canvas).toBeVisible();
  const categorical = await checkCanvas(plot);
  expectPointsInFrame(categorical);
  expect(categorical.swatches).toBe(8);
  expect(categorical.swatchesPainted).toBe(8);
  await expect(plot.locator("[class*='-swatches']")).toContainText("CD14+ Mono");
  await plot.scrollIntoViewIfNeeded();
  await screenshot(page, "13-plot-categorical-colour");

  await plot.getByTestId("plot-fill").selectOption("value");
  await expect(plot.locator("svg[class$='-ramp']")).toBeVisible({ timeout: 60_000 });
  await expect(canvas).toBeVisible();
  const numeric = await checkCanvas(plot);
  expectPointsInFrame(numeric);
  expect(numeric.swatches).toBe(0);
  expect(numeric.colours).toBeGreaterThan(10);

  await plot.getByTestId("plot-fill").selectOption("");
  await expect(plot.locator("svg[class$='-ramp']")).toHaveCount(0, { timeout: 60_000 });
  await expect(canvas).toBeVisible();
  const plain = await checkCanvas(plot);
  expectPointsInFrame(plain);
  expect(plain.ramp).toBe(false);
  expect(plain.swatches).toBe(0);
});
