// Parallel coordinates on the compare page: an axis per param and one for the chosen metric,
// a line per run across them, colored by that metric (low blue, high red; grey without it).
// Numeric axes run from their lowest value (bottom) to their highest; any other axis places
// its distinct values evenly, in sorted order. Drawn on a canvas from the page's data-axes.
"use strict";

(() => {
  const LOW = [36, 88, 166];
  const HIGH = [180, 35, 24];
  const MARGIN = { top: 34, bottom: 26, side: 70 };

  const text = (v) => (typeof v === "string" ? v : JSON.stringify(v));
  const short = (v) => (typeof v === "number" ? Number(v.toPrecision(4)).toString() : text(v));

  // Where each value sits on its axis, from 0 (bottom) to 1 (top), and the labels to write.
  function scale(values) {
    const present = values.filter((v) => v !== undefined && v !== null);
    if (present.length && present.every((v) => typeof v === "number")) {
      const low = Math.min(...present);
      const high = Math.max(...present);
      const at = (v) => (typeof v !== "number" ? null : high === low ? 0.5 : (v - low) / (high - low));
      return { at, ticks: high === low ? [[0.5, short(low)]] : [[0, short(low)], [1, short(high)]] };
    }
    const labels = [...new Set(present.map(text))].sort();
    const place = new Map(labels.map((l, i) => [l, labels.length === 1 ? 0.5 : i / (labels.length - 1)]));
    const at = (v) => (v === undefined || v === null ? null : place.get(text(v)));
    return { at, ticks: labels.map((l) => [place.get(l), l.length > 16 ? `${l.slice(0, 15)}…` : l]) };
  }

  function color(t) {
    if (t === null) return "rgba(120, 120, 120, 0.5)";
    const mix = LOW.map((c, i) => Math.round(c + (HIGH[i] - c) * t));
    return `rgb(${mix.join(",")})`;
  }

  function draw(box, select) {
    const data = JSON.parse(box.dataset.axes);
    const metric = select.value;
    const axes = [
      ...data.params.map((key) => ({ label: key, value: (run) => run.params[key] })),
      { label: metric, value: (run) => run.metrics[metric] },
    ];
    const scales = axes.map((axis) => scale(data.runs.map(axis.value)));
    const metricScale = scales[scales.length - 1];

    let canvas = box.querySelector("canvas");
    if (!canvas) {
      canvas = document.createElement("canvas");
      box.appendChild(canvas);
    }
    const ratio = window.devicePixelRatio || 1;
    const width = box.clientWidth;
    const height = box.clientHeight;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    g.font = "12px system-ui, sans-serif";

    const step = axes.length > 1 ? (width - 2 * MARGIN.side) / (axes.length - 1) : 0;
    const x = (i) => MARGIN.side + i * step;
    const y = (t) => height - MARGIN.bottom - t * (height - MARGIN.top - MARGIN.bottom);

    g.lineWidth = 1.5;
    for (const run of data.runs) {
      g.strokeStyle = color(metricScale.at(run.metrics[metric]));
      g.beginPath();
      let drawing = false;
      axes.forEach((axis, i) => {
        const t = scales[i].at(axis.value(run));
        if (t === null || t === undefined) {
          drawing = false;
          return;
        }
        if (drawing) g.lineTo(x(i), y(t));
        else g.moveTo(x(i), y(t));
        drawing = true;
      });
      g.stroke();
    }

    g.strokeStyle = "#616e7c";
    g.fillStyle = "#1f2933";
    g.lineWidth = 1;
    axes.forEach((axis, i) => {
      g.beginPath();
      g.moveTo(x(i), y(0));
      g.lineTo(x(i), y(1));
      g.stroke();
      g.textAlign = "center";
      g.font = "600 12px system-ui, sans-serif";
      g.fillText(axis.label, x(i), 14, step || width);
      g.font = "11px system-ui, sans-serif";
      g.textAlign = "left";
      for (const [t, label] of scales[i].ticks) g.fillText(label, x(i) + 4, y(t) + 4);
    });
  }

  for (const box of document.querySelectorAll(".parallel")) {
    const select = box.parentElement.querySelector(".parallel-metric");
    const redraw = () => draw(box, select);
    select.addEventListener("change", redraw);
    window.addEventListener("resize", redraw);
    redraw();
  }
})();
