// Metric charts: uPlot over the buckets /api/v1/.../metrics/KEY/history returns.
//
// Each <figure class="chart" data-key="KEY" data-series='[{"run": ID, "label": NAME,
// "color": 0..9}, ...]'> (the color: --c0..--c9, the run's color on the page)
// becomes one plot with a line per run: the last value of each bucket, by step. With one run,
// a band spans each bucket's min and max, so no point is lost from view however far the series
// was downsampled. Dragging across the plot asks the server for that step range again, at full
// resolution; double-clicking (or "zoom out") asks for the whole series. Log scale and the
// smoothing (an exponential moving average) are drawn here, from what was fetched.
// A chart is fetched when it scrolls into view: a comparison of 100 runs fetches nothing it
// does not show.
"use strict";

(() => {
  const HEIGHT = 260;
  const MAX_POINTS = 1500; // per series; about one per pixel of a wide chart
  const MANY = 10; // more series than this: fewer points each, and no legend
  // Tick spacings for the step axis: 1, 2, 5, 10, 20, 50, ... (never a fraction of a step).
  const STEP_INCREMENTS = Array.from({ length: 16 }, (_, i) => [1, 2, 5].map((m) => m * 10 ** i)).flat();

  function palette() {
    const style = getComputedStyle(document.documentElement);
    return Array.from({ length: 10 }, (_, i) => style.getPropertyValue(`--c${i}`).trim());
  }

  async function history(run, key, points, range) {
    const query = new URLSearchParams({ max_points: String(points) });
    if (range) {
      query.set("min_step", String(range[0]));
      query.set("max_step", String(range[1]));
    }
    const url =
      `/api/v1/runs/${encodeURIComponent(run)}/metrics/${encodeURIComponent(key)}/history?${query}`;
    const response = await fetch(url, { headers: { accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body.buckets;
  }

  // A y tick: short, and readable for a loss of 2e-5 as for an accuracy of 0.93.
  function tick(v) {
    if (v === null) return "";
    const size = Math.abs(v);
    if (size !== 0 && (size < 1e-3 || size >= 1e6)) return v.toExponential(1);
    return String(Number(v.toPrecision(4)));
  }

  // Every run's buckets on one x axis (the union of their steps): one column per run, null
  // where a run has no bucket at that step.
  function aligned(perRun, pick) {
    const steps = [...new Set(perRun.flatMap((buckets) => buckets.map((b) => b.last_step)))];
    steps.sort((a, b) => a - b);
    const at = new Map(steps.map((step, i) => [step, i]));
    const columns = perRun.map((buckets) => {
      const column = new Array(steps.length).fill(null);
      for (const b of buckets) column[at.get(b.last_step)] = pick(b);
      return column;
    });
    return [steps, columns];
  }

  // Exponential moving average: `weight` on what came before, 0 leaves the values as they are.
  function smoothed(values, weight) {
    if (!weight) return values;
    let mean = null;
    return values.map((v) => {
      if (v === null) return null;
      mean = mean === null ? v : weight * mean + (1 - weight) * v;
      return mean;
    });
  }

  class Chart {
    constructor(figure) {
      this.figure = figure;
      this.key = figure.dataset.key;
      this.series = JSON.parse(figure.dataset.series);
      this.box = figure.querySelector(".plot");
      this.log = figure.querySelector(".log-scale");
      this.smoothing = figure.querySelector(".smoothing");
      this.zoomOut = figure.querySelector(".zoom-out");
      this.range = null;
      this.buckets = [];
      this.plot = null;
      this.log.addEventListener("change", () => this.draw());
      this.smoothing.addEventListener("input", () => this.draw());
      this.zoomOut.addEventListener("click", () => this.load(null));
      this.load(null);
    }

    async load(range) {
      const points = this.series.length > MANY ? MAX_POINTS / 3 : MAX_POINTS;
      try {
        this.buckets = await Promise.all(
          this.series.map((s) => history(s.run, this.key, Math.round(points), range)),
        );
      } catch (err) {
        this.box.textContent = `The series could not be read: ${err.message}`;
        this.box.classList.add("failed");
        return;
      }
      this.range = range;
      this.zoomOut.hidden = range === null;
      this.figure.dataset.range = range ? `${range[0]}..${range[1]}` : "";
      this.draw();
    }

    draw() {
      const colors = palette();
      const log = this.log.checked;
      const weight = Number(this.smoothing.value);
      // a log scale has no place for zero or less; NaN and infinities are never drawn
      const keep = (v) => (typeof v !== "number" || !Number.isFinite(v) || (log && v <= 0) ? null : v);
      const [steps, lasts] = aligned(this.buckets, (b) => keep(b.last));
      const data = [steps, ...lasts.map((column) => smoothed(column, weight))];
      const line = (label, color) => ({
        label,
        stroke: colors[color],
        width: 1.5,
        spanGaps: true,
        points: { show: false },
      });
      const series = [{ label: "step" }, ...this.series.map((s) => line(s.label, s.color))];
      const bands = [];
      if (this.series.length === 1) {
        const [, [lows]] = aligned(this.buckets, (b) => keep(b.min));
        const [, [highs]] = aligned(this.buckets, (b) => keep(b.max));
        data.push(lows, highs);
        const edge = (label) => ({ label, stroke: "transparent", points: { show: false }, spanGaps: true });
        series.push(edge("min"), edge("max"));
        bands.push({ series: [3, 2], fill: `${colors[this.series[0].color]}33` });
      }
      const options = {
        width: Math.max(this.box.clientWidth, 300),
        height: HEIGHT,
        scales: { x: { time: false }, y: { distr: log ? 3 : 1 } },
        axes: [
          // Steps are whole numbers: no tick between two of them.
          { label: "step", incrs: STEP_INCREMENTS },
          { values: (u, splits) => splits.map(tick), size: 60 },
        ],
        series,
        bands,
        legend: { show: this.series.length <= MANY },
        cursor: { drag: { x: true, y: false, setScale: false } },
        hooks: { setSelect: [(u) => this.zoom(u)] },
      };
      if (this.plot) this.plot.destroy();
      this.box.textContent = "";
      this.plot = new uPlot(options, data, this.box);
      this.plot.over.addEventListener("dblclick", () => {
        if (this.range) this.load(null);
      });
      this.figure.classList.add("drawn");
    }

    zoom(u) {
      if (u.select.width < 2) return;
      const low = Math.floor(u.posToVal(u.select.left, "x"));
      const high = Math.ceil(u.posToVal(u.select.left + u.select.width, "x"));
      u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
      if (high > low) this.load([low, high]);
    }
  }

  const seen = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        seen.unobserve(entry.target);
        new Chart(entry.target);
      }
    },
    { rootMargin: "200px" },
  );
  for (const figure of document.querySelectorAll("figure.chart")) seen.observe(figure);
})();
