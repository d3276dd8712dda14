/**
 * The Explore view on the demo, as a biologist uses it, checked against SQL run by the CLI on the same dataset:
 * every cell drawn where its UMAP coordinates say (pixels read back from the WebGL canvas), 8 cell types of 20 in
 * the legend, LYZ colouring exactly on the cells that express it, a lasso drawn with the mouse that becomes a cell
 * set of the size SQL counts inside that polygon, queryable as cell_sets, saved with the notebook and back after a
 * reload; QC histograms whose bars select cells; "Send to notebook" cells that run.
 */
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { expect, test, type Locator, type Page } from "@playwright/test";
import { PROJECT_ROOT } from "../fixtures/pbmc";
import { useAppServer } from "./app-server";
import { writeMillionCells } from "./explore-million";
import { openApp, screenshot } from "./helpers";
import { runNamedSql } from "./notebook-helpers";

// The gene index is built for tables of a million rows or more here (the app's default is 50M): the million-cell
// dataset below (~15M rows) gets one, the demo (~150k) does not.
const app = useAppServer([], { env: { SLAFWB_GENE_INDEX_MIN_ROWS: "1000000" } });
const run = promisify(execFile);

/** SQL through the CLI (the notebook's engine) on the demo dataset this spec's app built. */
async function sql<T>(query: string): Promise<T[]> {
  const demo = path.join(app.userData, "demo", "pbmc3k.slaf");
  const { stdout } = await run(process.execPath, [path.join(PROJECT_ROOT, "dist", "main", "cli.mjs"), "query", demo, query, "--format", "json"], {
    env: { ...process.env, SLAFWB_USER_DATA: app.userData },
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout.slice(stdout.indexOf("\n[") + 1)) as T[];
}

interface Cell {
  id: number;
  x: number;
  y: number;
  type: string;
}

interface Frame {
  cx: number;
  cy: number;
  k: number;
}

/** Canvas position (CSS px) of an embedding point in the initial view: the frame fills the height, aspect kept. */
function toScreen(f: Frame, x: number, y: number, w: number, h: number): [number, number] {
  const s = h / 2 / Math.max(1, h / w);
  return [w / 2 + (x - f.cx) * f.k * s, h / 2 - (y - f.cy) * f.k * s];
}

function fromScreen(f: Frame, sx: number, sy: number, w: number, h: number): [number, number] {
  const s = h / 2 / Math.max(1, h / w);
  return [(sx - w / 2) / (f.k * s) + f.cx, (h / 2 - sy) / (f.k * s) + f.cy];
}

/** RGB at canvas positions, from a screenshot of the canvas decoded in the page (WebGL buffers are not kept). */
async function pixels(page: Page, canvas: Locator, at: [number, number][]): Promise<[number, number, number][]> {
  const png = (await canvas.screenshot()).toString("base64");
  return page.evaluate(
    async ({ png, at }) => {
      // From bytes, not a data: URL (the page's CSP allows no such fetch).
      const bytes = Uint8Array.from(atob(png), (ch) => ch.charCodeAt(0));
      const img = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
      const ctx = new OffscreenCanvas(img.width, img.height).getContext("2d")!;
      ctx.drawImage(img, 0, 0);
      return at.map(([x, y]) => {
        const d = ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data;
        return [d[0], d[1], d[2]] as [number, number, number];
      });
    },
    { png, at },
  );
}

const hex = (rgb: string): [number, number, number] => {
  const m = rgb.match(/\d+/g)!.map(Number);
  return [m[0], m[1], m[2]];
};
const near = (a: number[], b: number[], tol = 12) => a.every((v, i) => Math.abs(v - b[i]) <= tol);

/** Cells with no other cell within `px` on screen (their centre pixel is theirs alone). */
function isolated(cells: (Cell & { sx: number; sy: number })[], px: number, keep: (c: Cell) => boolean = () => true) {
  return cells.filter((c) => keep(c) && cells.every((o) => o === c || Math.hypot(o.sx - c.sx, o.sy - c.sy) > px));
}

/** Even-odd, half-open crossings: the rule main uses for a lasso. */
function inPolygon(px: number, py: number, poly: [number, number][]): boolean {
  let inside = false;
  for (let a = 0, b = poly.length - 1; a < poly.length; b = a++) {
    const [ax, ay] = poly[a];
    const [bx, by] = poly[b];
    if (ay > py !== by > py && px < ((bx - ax) * (py - ay)) / (by - ay) + ax) inside = !inside;
  }
  return inside;
}

function distanceToSegment(p: [number, number], a: [number, number], b: [number, number]): number {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

test("explore the demo: cells in place, cell types, LYZ, a lasso set queried in SQL and kept with the notebook, QC, send to notebook", async ({ page }) => {
  test.setTimeout(240_000);
  await openApp(page, app.url);
  await page.getByTestId("demo-button").click();
  await expect(page.getByTestId("notebook")).toBeVisible();
  await page.getByTestId("nav-explore").click();
  const scatter = page.getByTestId("scatter").first();
  await expect(scatter).toHaveAttribute("data-drawn", "160", { timeout: 30_000 });
  await expect(page.getByTestId("explore-facts")).toContainText("160 cells");

  // Colour by cell_type (chosen by default): 8 legend entries of 20 cells.
  await expect(page.getByTestId("explore-colour-by")).toHaveValue("cell_type");
  const entries = page.getByTestId("legend-entry");
  await expect(entries).toHaveCount(8);
  expect(await page.getByTestId("legend-cells").allInnerTexts()).toEqual(Array(8).fill("20"));

  // Every cell where its X_umap coordinates put it, in its category's colour; empty places stay white.
  const rows = await sql<{ cell_integer_id: number; x: number; y: number; cell_type: string }>(
    "SELECT cell_integer_id, X_umap[1] AS x, X_umap[2] AS y, cell_type FROM cells ORDER BY cell_integer_id",
  );
  expect(rows).toHaveLength(160);
  const frame = JSON.parse((await scatter.getAttribute("data-frame"))!) as Frame;
  const canvas = page.getByTestId("scatter-canvas").first();
  /** Where the canvas is and each cell on it now (the canvas resizes when a row of gene chips appears above it). */
  const place = async () => {
    const box = (await canvas.boundingBox())!;
    const cells = rows.map((r) => {
      const [sx, sy] = toScreen(frame, r.x, r.y, box.width, box.height);
      return { id: r.cell_integer_id, x: r.x, y: r.y, type: r.cell_type, sx, sy };
    });
    return { box, cells };
  };
  let { box, cells } = await place();
  const swatch = new Map<string, [number, number, number]>();
  for (const e of await entries.all()) {
    const rgb = await e.locator(".swatch").evaluate((el) => getComputedStyle(el).backgroundColor);
    swatch.set((await e.getAttribute("data-value"))!, hex(rgb));
  }
  const alone = isolated(cells, 8).filter((c) => c.sy > 50);
  expect(alone.length).toBeGreaterThan(10);
  const probe = alone.filter((_, i) => i % Math.floor(alone.length / 8) === 0).slice(0, 8);
  const seen = await pixels(page, canvas, [...probe.map((c): [number, number] => [c.sx, c.sy])]);
  probe.forEach((c, i) =>
    expect(near(seen[i], swatch.get(c.type)!), `cell ${c.id} (${c.type}) at ${c.sx.toFixed(0)},${c.sy.toFixed(0)}: ${seen[i]}`).toBe(true),
  );
  const empty: [number, number][] = [];
  for (let gx = 30; gx < box.width - 30 && empty.length < 6; gx += 97)
    for (let gy = 70; gy < box.height - 30 && empty.length < 6; gy += 89) if (cells.every((c) => Math.hypot(c.sx - gx, c.sy - gy) > 30)) empty.push([gx, gy]);
  expect(empty.length).toBe(6);
  for (const rgb of await pixels(page, canvas, empty)) expect(rgb).toEqual([255, 255, 255]);

  // The hover card shows a cell's row of the cells table.
  const hovered = alone[0];
  await page.mouse.move(box.x + hovered.sx, box.y + hovered.sy);
  await expect(page.getByTestId("hover-card")).toContainText(`cell ${hovered.id}`);
  await expect(page.getByTestId("hover-card")).toContainText(hovered.type);
  await screenshot(page, "50-explore-cell-type");

  // Colour by LYZ: exactly the cells SQL finds expressing it are coloured; the others grey.
  const expressing = new Set(
    (
      await sql<{ cell_integer_id: number }>(
        "SELECT e.cell_integer_id FROM expression e JOIN genes g ON g.gene_integer_id = e.gene_integer_id WHERE g.gene_symbols = 'LYZ' AND e.value > 0",
      )
    ).map((r) => r.cell_integer_id),
  );
  expect(expressing.size).toBeGreaterThan(20);
  await page.getByTestId("gene-search").fill("LYZ");
  const option = page.locator('[data-testid="gene-option"][data-symbol="LYZ"]');
  await expect(option.getByTestId("gene-option-cells")).toHaveText(`${expressing.size} cells`, { timeout: 30_000 });
  await option.locator("button.main").click();
  await expect(page.getByTestId("gene-chip")).toHaveAttribute("data-state", "ready", { timeout: 30_000 });
  await expect(page.getByTestId("gene-chip")).toContainText(`${expressing.size} cells`);
  await expect(page.getByTestId("colour-empty")).toContainText(`not expressing: ${160 - expressing.size}`);
  await expect(page.getByTestId("legend")).toHaveCount(0);
  await page.mouse.move(box.x + 5, box.y + box.height - 5);
  await expect(page.getByTestId("hover-card")).toHaveCount(0);
  ({ box, cells } = await place());
  const grey: [number, number, number] = [0xd3, 0xd7, 0xdc];
  const onOff = isolated(cells, 8).filter((c) => c.sy > 50);
  const lyzProbe = [...onOff.filter((c) => expressing.has(c.id)).slice(0, 5), ...onOff.filter((c) => !expressing.has(c.id)).slice(0, 5)];
  expect(lyzProbe.length).toBe(10);
  const lyzSeen = await pixels(
    page,
    canvas,
    lyzProbe.map((c): [number, number] => [c.sx, c.sy]),
  );
  lyzProbe.forEach((c, i) => {
    const isGrey = near(lyzSeen[i], grey, 6);
    const isWhite = near(lyzSeen[i], [255, 255, 255], 3);
    expect(isWhite, `cell ${c.id} is drawn`).toBe(false);
    expect(isGrey, `cell ${c.id} ${expressing.has(c.id) ? "expresses LYZ" : "does not express LYZ"}: ${lyzSeen[i]}`).toBe(!expressing.has(c.id));
  });
  await screenshot(page, "51-explore-lyz");

  // A lasso drawn with the mouse around a group of cells, its edges well away from every cell.
  const lasso = (() => {
    const centres = [...new Set(cells.map((c) => c.type))].map((t) => {
      const of = cells.filter((c) => c.type === t);
      return [of.reduce((a, c) => a + c.sx, 0) / of.length, of.reduce((a, c) => a + c.sy, 0) / of.length] as [number, number];
    });
    for (const [cx, cy] of centres)
      for (let r = 40; r <= 200; r += 8) {
        const poly = Array.from({ length: 8 }, (_, i): [number, number] => [
          cx + r * Math.cos((i * Math.PI) / 4 + 0.3),
          cy + r * 0.8 * Math.sin((i * Math.PI) / 4 + 0.3),
        ]);
        if (poly.some(([x, y]) => x < 10 || y < 60 || x > box.width - 10 || y > box.height - 10)) continue;
        const margin = Math.min(...cells.flatMap((c) => poly.map((a, i) => distanceToSegment([c.sx, c.sy], a, poly[(i + 1) % poly.length]))));
        const inside = cells.filter((c) => inPolygon(c.sx, c.sy, poly)).length;
        if (margin > 10 && inside >= 8 && inside <= 60) return poly;
      }
    throw new Error("no polygon with clear edges around any cluster");
  })();
  await page.getByTestId("tool-lasso").click();
  await page.mouse.move(box.x + lasso[0][0], box.y + lasso[0][1]);
  await page.mouse.down();
  for (const [x, y] of [...lasso.slice(1), lasso[0]]) await page.mouse.move(box.x + x, box.y + y, { steps: 12 });
  await page.mouse.up();
  const polygon = lasso.map(([sx, sy]) => fromScreen(frame, sx, sy, box.width, box.height));
  const values = polygon.map(([x1, y1], i) => `(${x1}, ${y1}, ${polygon[(i + 1) % polygon.length][0]}, ${polygon[(i + 1) % polygon.length][1]})`).join(", ");
  const [{ n: inLasso }] = await sql<{ n: number }>(
    `WITH edges(x1, y1, x2, y2) AS (VALUES ${values}),
     pts AS (SELECT cell_integer_id, X_umap[1] AS x, X_umap[2] AS y FROM cells)
     SELECT COUNT(*) AS n FROM (
       SELECT p.cell_integer_id, SUM(CASE WHEN (e.y1 > p.y) <> (e.y2 > p.y) AND p.x < (e.x2 - e.x1) * (p.y - e.y1) / (e.y2 - e.y1) + e.x1 THEN 1 ELSE 0 END) AS crossings
       FROM pts p CROSS JOIN edges e GROUP BY p.cell_integer_id
     ) WHERE crossings % 2 = 1`,
  );
  expect(inLasso).toBeGreaterThanOrEqual(8);
  await expect(page.getByTestId("selection-size")).toHaveText(String(inLasso));
  await page.getByTestId("selection-name").fill("lasso set");
  await page.getByTestId("selection-save").click();
  const saved = page.locator('[data-testid="cell-set"][data-name="lasso set"]');
  await expect(saved.getByTestId("cell-set-size")).toHaveText(String(inLasso));
  await screenshot(page, "52-explore-lasso-set");

  // QC: three histograms; a click on the tallest bar of genes per cell selects the cells it counts.
  await page.getByTestId("tool-pan").click();
  await page.getByTestId("qc-run").click();
  await expect(page.getByTestId("qc-histogram")).toHaveCount(3, { timeout: 60_000 });
  await expect(page.getByTestId("qc-facts")).toContainText("160 cells");
  const bars = page.getByTestId("qc-histogram").first().locator("rect");
  const titles = await bars.evaluateAll((els) => els.map((el) => el.querySelector("title")?.textContent ?? ""));
  const counts = titles.map((t) => Number(/: (\d+) cells$/.exec(t)?.[1] ?? -1));
  expect(counts.filter((n) => n >= 0).reduce((a, b) => a + b, 0)).toBe(160);
  const tallest = counts.indexOf(Math.max(...counts));
  await bars.nth(tallest).click();
  await expect(page.getByTestId("selection-size")).toHaveText(String(counts[tallest]));
  await expect(page.getByTestId("selection-card")).toContainText("Genes per cell");
  await screenshot(page, "53-explore-qc");

  // The set is a table for SQL, and a block of the notebook, saved by autosave.
  await page.getByTestId("nav-notebook").click();
  await expect(page.getByTestId("cellset-cell-name")).toHaveText("lasso set");
  const counted = await runNamedSql(page, "in_lasso", "SELECT COUNT(*) AS n FROM cell_sets WHERE set_name = 'lasso set'");
  await expect(counted).toHaveAttribute("data-state", "done", { timeout: 30_000 });
  await expect(counted.getByTestId("data-grid").locator('[data-row="0"]')).toContainText(String(inLasso));
  await expect(page.getByTestId("dirty-marker")).toHaveCount(0, { timeout: 15_000 });

  // A new page (main has forgotten the page's sets): the notebook gives the set back.
  await page.reload();
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  await page.getByTestId("demo-button").click();
  await expect(page.getByTestId("notebook")).toBeVisible();
  await expect(page.getByTestId("cellset-cell-name")).toHaveText("lasso set");
  await page.getByTestId("nav-explore").click();
  await expect(page.locator('[data-testid="cell-set"][data-name="lasso set"]').getByTestId("cell-set-size")).toHaveText(String(inLasso));
  await page.getByTestId("nav-notebook").click();
  const again = await runNamedSql(page, "in_lasso_again", "SELECT COUNT(*) AS n FROM cell_sets WHERE set_name = 'lasso set'");
  await expect(again).toHaveAttribute("data-state", "done", { timeout: 30_000 });
  await expect(again.getByTestId("data-grid").locator('[data-row="0"]')).toContainText(String(inLasso));

  // Send to notebook: the view (LYZ on the UMAP) and the set's composition as cells that run.
  await page.getByTestId("nav-explore").click();
  await expect(page.getByTestId("scatter").first()).toHaveAttribute("data-drawn", "160", { timeout: 30_000 });
  await page.getByTestId("gene-search").fill("LYZ");
  await page.locator('[data-testid="gene-option"][data-symbol="LYZ"] button.main').click();
  await expect(page.getByTestId("gene-chip")).toHaveAttribute("data-state", "ready", { timeout: 30_000 });
  await saved.locator("button.name").click();
  await expect(page.getByTestId("selection-size")).toHaveText(String(inLasso));
  await page.getByTestId("explore-send").click();
  await expect(page.getByTestId("notebook")).toBeVisible();
  const sent = page.locator('[data-testid="sql-cell"][data-name="umap_lyz"]');
  await expect(sent).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  await expect(sent.getByTestId("result-count")).toHaveText("160 rows");
  const composition = page.locator('[data-testid="sql-cell"][data-name="set_lasso_set_cell_type"]');
  await expect(composition).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  await expect(page.getByTestId("plot-figure").last().locator("svg").first()).toBeVisible();
  await sent.scrollIntoViewIfNeeded();
  await screenshot(page, "54-explore-sent-to-notebook");
});

test("a million cells: the view opens, draws every cell as the pages arrive, and colours by a gene", async ({ page }) => {
  test.setTimeout(600_000);
  const root = path.join(app.dir, "million.slaf");
  let t = Date.now();
  const facts = await writeMillionCells(root);
  const timings: string[] = [`built ${Date.now() - t} ms`];

  await openApp(page, app.url);
  await page.getByTestId("open-path").fill(root);
  await page.getByTestId("open-button").click();
  t = Date.now();
  await page.getByTestId("nav-explore").click();
  const scatter = page.getByTestId("scatter").first();
  // Drawn progressively: a first page of points before the rest, with the loading indicator up meanwhile.
  await expect.poll(async () => Number(await scatter.getAttribute("data-drawn")), { timeout: 120_000 }).toBeGreaterThan(0);
  timings.push(`first paint ${Date.now() - t} ms (${await scatter.getAttribute("data-drawn")} points)`);
  // The gene index build started with the view (a look at its progress line, when it is still running).
  if (await page.getByTestId("gene-index-building").isVisible()) await screenshot(page, "54b-explore-gene-index-building");
  await expect(scatter).toHaveAttribute("data-drawn", String(facts.nCells), { timeout: 240_000 });
  timings.push(`all points ${Date.now() - t} ms`);
  await expect(page.getByTestId("explore-facts")).toContainText("1,000,000 cells");
  await expect(page.getByTestId("legend-entry")).toHaveCount(8);
  expect(await page.getByTestId("legend-cells").allInnerTexts()).toEqual(Array(8).fill("125,000"));

  t = Date.now();
  await page.getByTestId("gene-search").fill("LYZ");
  await page.locator('[data-testid="gene-option"][data-symbol="LYZ"] button.main').click();
  await expect(page.getByTestId("gene-chip")).toHaveAttribute("data-state", "ready", { timeout: 240_000 });
  timings.push(`colour by LYZ (log1p CP10k, counting pass included) ${Date.now() - t} ms`);
  await expect(page.getByTestId("gene-chip")).toContainText(`${facts.lyzExpressing.toLocaleString("en-US")} cells`);
  await expect(page.getByTestId("colour-empty")).toContainText(`not expressing: ${(facts.nCells - facts.lyzExpressing).toLocaleString("en-US")}`);
  await expect(page.getByTestId("explore-loading")).toHaveCount(0, { timeout: 120_000 });
  await screenshot(page, "55-explore-million-lyz");

  // Opening Explore started the gene index build; once it ends without a failure, a new gene reads through it.
  await expect(page.getByTestId("gene-index-building")).toHaveCount(0, { timeout: 240_000 });
  await expect(page.getByTestId("gene-index-failed")).toHaveCount(0);
  t = Date.now();
  await page.getByTestId("gene-search").fill("CD74");
  await page.locator('[data-testid="gene-option"][data-symbol="CD74"] button.main').click();
  await expect(page.getByTestId("gene-chip")).toHaveAttribute("data-state", "ready", { timeout: 120_000 });
  await expect(page.getByTestId("gene-chip")).toContainText("CD74");
  timings.push(`colour by CD74 through the gene index ${Date.now() - t} ms`);
  // The index is the expression rows gene by gene in the app's cache: a Uint32 cell id and a Uint16 value a row.
  const indexDir = path.join(app.userData, "cache", "gene-index");
  let indexBytes = 0;
  for (const name of await fs.readdir(indexDir, { recursive: true })) {
    const st = await fs.stat(path.join(indexDir, name));
    if (st.isFile()) indexBytes += st.size;
  }
  expect(indexBytes).toBeGreaterThanOrEqual(facts.expressionRows * 6);
  // The Cache panel shows what that takes, apart from remote data.
  await page.getByTestId("nav-cache").click();
  await expect(page.getByTestId("cache-gene-index")).toHaveCount(1);
  await expect(page.getByTestId("cache-gene-index")).toContainText("million.slaf");
  await expect(page.getByTestId("cache-gene-index")).toContainText(`${facts.expressionRows.toLocaleString("en-US")} rows`);
  await screenshot(page, "56-cache-gene-index");
  console.log(`explore, 1M cells (headless Chromium, software WebGL): ${timings.join("; ")}`);
});
