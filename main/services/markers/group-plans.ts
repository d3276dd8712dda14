/**
 * The groups of a markers request as cell classes: a comparison (a category vs the rest or another, every category,
 * a set vs the rest or another set) or the groups of byGroup (every category, or sets), with MARKERS_INVALID naming
 * the column, value or set at fault.
 */
import { EXPLORE_MAX_CATEGORIES, type MarkersComparison, type MarkersGroupBy } from "../../../shared/ipc/contract";
import { fail } from "../errors";
import { categoricalColours, TooManyCategories, type ColoursRead } from "../explore/colours";
import type { ExploreDataset } from "../explore/explore-dataset";
import { classesFromCodes, classesFromSets, classesOfGroup, groupCells, type CellClasses } from "./cell-classes";
import type { ComparisonPlan } from "./comparisons";

/** What groups are made from: the dataset's cells columns (categories cached per column) and its cell sets. */
export interface GroupSource {
  ed: ExploreDataset;
  categories: Map<string, Promise<ColoursRead>>;
  /** A set's ids (sorted); MARKERS_INVALID when it does not exist or is empty. */
  setIds(name: string): Promise<Int32Array>;
}

export interface Plan {
  classes: CellClasses;
  comparisons: ComparisonPlan[];
  /** Set when the classes are every category of this column, class = category code (their moments can be kept). */
  categoriesOf?: string;
}

function show(v: string | null): string {
  return v === null ? "null" : `'${v}'`;
}

/** The column's categories (same text and order as explore.colors) and codes per cell. */
export async function categories(st: GroupSource, column: string): Promise<ColoursRead> {
  const info = st.ed.cols.byName.get(column);
  if (!info) {
    const groupable = st.ed.cols.columns.filter((x) => x.kind === "categorical").map((x) => x.name);
    const hint = groupable.length ? `; columns that group cells: ${groupable.join(", ")}` : "; this dataset's cells table has no column of categories";
    fail("MARKERS_INVALID", `Column '${column}' is not a cells column${hint}`);
  }
  const c = st.ed.cols.columns.find((x) => x.name === column);
  if (!c) fail("MARKERS_INVALID", `Column '${column}' cannot group cells (ids, lists and embeddings cannot)`);
  if (c.kind === "continuous")
    fail("MARKERS_INVALID", `Column '${column}' holds ${c.type} numbers, not groups: choose a column of categories (text, integers, booleans)`);
  await st.ed.checkIds();
  let read = st.categories.get(column);
  if (!read) {
    read = categoricalColours(st.ed.cells, column, st.ed.nCells);
    st.categories.set(column, read);
    read.catch(() => st.categories.delete(column));
  }
  try {
    return await read;
  } catch (e) {
    if (e instanceof TooManyCategories) fail("MARKERS_INVALID", `Column '${column}' has more than ${EXPLORE_MAX_CATEGORIES} distinct values: too many groups`);
    throw e;
  }
}

async function categoryCode(st: GroupSource, column: string, value: string | null): Promise<{ read: ColoursRead; code: number; nCategories: number }> {
  const read = await categories(st, column);
  if (read.colors.kind !== "categorical") fail("MARKERS_INVALID", `Column '${column}' has no categories`);
  const code = read.colors.categories.findIndex((k) => k.value === value);
  if (code < 0) fail("MARKERS_INVALID", `No cells have ${column} = ${show(value)}`);
  return { read, code, nCategories: read.colors.categories.length };
}

export async function planComparison(st: GroupSource, cmp: MarkersComparison): Promise<Plan> {
  const nCells = st.ed.nCells;
  /** Group 0 of `classes` vs every other cell (the whole minus the group). */
  const vsRest = (classes: CellClasses, group: string | null, what: string, groupClasses = classesOfGroup(classes, 0)): Plan => {
    const cellsGroup = groupClasses.reduce((n, k) => n + classes.cells[k], 0);
    const cellsReference = nCells - cellsGroup;
    if (cellsReference === 0) fail("MARKERS_INVALID", `No cells outside ${what} to compare with`);
    return {
      classes,
      comparisons: [{ group: { group, reference: "rest", vsRest: true, cellsGroup, cellsReference }, groupClasses, referenceClasses: "rest" }],
    };
  };
  const vsOther = (classes: CellClasses, group: string | null, reference: string | null): Plan => ({
    classes,
    comparisons: [
      {
        group: { group, reference, vsRest: false, cellsGroup: groupCells(classes, 0), cellsReference: groupCells(classes, 1) },
        groupClasses: classesOfGroup(classes, 0),
        referenceClasses: classesOfGroup(classes, 1),
      },
    ],
  });
  switch (cmp.kind) {
    case "column": {
      const { read, code, nCategories } = await categoryCode(st, cmp.column, cmp.group);
      const codes = read.codes!;
      if (cmp.reference.kind === "rest") {
        // Every category a class: the pass that reads every cell for the whole keeps them all for later requests.
        const classes = classesFromCodes(codes, nCategories);
        return { ...vsRest(classes, cmp.group, `${cmp.column} = ${show(cmp.group)}`, [code]), categoriesOf: cmp.column };
      }
      const ref = (await categoryCode(st, cmp.column, cmp.reference.name)).code;
      // The same category on both sides: one class in both groups.
      if (ref === code) {
        const classes = classesFromCodes(
          Int32Array.from(codes, (k) => (k === code ? 0 : -1)),
          1,
        );
        classes.groupsOf = [[0, 1]];
        return vsOther(classes, cmp.group, cmp.reference.name);
      }
      return vsOther(
        classesFromCodes(
          Int32Array.from(codes, (k) => (k === code ? 0 : k === ref ? 1 : -1)),
          2,
        ),
        cmp.group,
        cmp.reference.name,
      );
    }
    case "all": {
      const read = await categories(st, cmp.column);
      if (read.colors.kind !== "categorical") fail("MARKERS_INVALID", `Column '${cmp.column}' has no categories`);
      const values = read.colors.categories;
      if (values.length < 2) fail("MARKERS_INVALID", `Column '${cmp.column}' has one value only (${show(values[0]?.value ?? null)}): no rest to compare with`);
      const classes = classesFromCodes(read.codes!, values.length);
      return {
        classes,
        categoriesOf: cmp.column,
        comparisons: values.map((k, code) => ({
          group: { group: k.value, reference: "rest", vsRest: true, cellsGroup: k.cells, cellsReference: nCells - k.cells },
          groupClasses: [code],
          referenceClasses: "rest" as const,
        })),
      };
    }
    case "sets": {
      const group = await st.setIds(cmp.group);
      if (cmp.reference.kind === "rest") return vsRest(classesFromSets(nCells, [group]), cmp.group, `set '${cmp.group}'`);
      const name = cmp.reference.name;
      if (name === null) fail("MARKERS_INVALID", "A set is named by text, not null");
      return vsOther(classesFromSets(nCells, [group, await st.setIds(name)]), cmp.group, name);
    }
  }
}

export async function planGroups(st: GroupSource, by: MarkersGroupBy): Promise<{ classes: CellClasses; names: (string | null)[] }> {
  if (by.kind === "column") {
    const read = await categories(st, by.column);
    if (read.colors.kind !== "categorical") fail("MARKERS_INVALID", `Column '${by.column}' has no categories`);
    return { classes: classesFromCodes(read.codes!, read.colors.categories.length), names: read.colors.categories.map((k) => k.value) };
  }
  const names = [...new Set(by.sets)];
  if (names.length === 0) fail("MARKERS_INVALID", "Choose at least one set");
  const sets: Int32Array[] = [];
  for (const name of names) sets.push(await st.setIds(name));
  return { classes: classesFromSets(st.ed.nCells, sets), names };
}
