// hackatime-lite dashboard behaviour: live status, charts, filters by click, settings preview, import upload.
// Plain browser JS (build.mjs only minifies it); the pages work without it except for the charts and live parts.
(function () {
  "use strict";

  const csrfToken = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  // The same words as the server's human_text: "2 hrs 17 mins", "1 min", "7 secs".
  function humanText(seconds) {
    const whole = Math.max(0, Math.floor(seconds || 0));
    const h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), s = whole % 60;
    const plural = (n, unit) => `${n} ${unit}${n === 1 ? "" : "s"}`;
    const parts = [];
    if (h) parts.push(plural(h, "hr"));
    if (m) parts.push(plural(m, "min"));
    return parts.length ? parts.join(" ") : plural(s, "sec");
  }
  function shortText(seconds) {
    const whole = Math.max(0, Math.floor(seconds || 0));
    const h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60);
    return h ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m`;
  }
  function agoText(seconds) {
    if (seconds < 60) return "just now";
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    return `${Math.floor(seconds / 86400)} days ago`;
  }

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
    return body;
  }

  // -- live: "currently coding" and today's total ------------------------------------------------------
  // Server-sent events (/live/events) push the state when the user's heartbeats change; browsers without
  // EventSource, or when the stream cannot be opened, poll /web/api/live instead (every 15 s, 3 s on setup).
  // Each state is also announced as a "hackatime:live" DOM event, so the dashboard's cards and charts follow.
  function startLive() {
    const box = $("#live");
    if (!box) return;
    const setupBox = $("#setup-live");
    let state = null;
    let receivedAt = 0;

    function paint() {
      if (!state) return;
      const last = state.last;
      // With the stream, "coding" turns into "idle" here, as time passes, without asking the server again.
      const ago = last ? Math.max(0, (state.now || last.time) - last.time + (Date.now() - receivedAt) / 1000) : 0;
      const coding = last ? (state.timeout ? ago <= state.timeout : state.coding) : false;
      box.classList.toggle("coding", coding);
      $("#live-status").textContent = coding && last
        ? `coding${last.project ? " in " + last.project : ""}`
        : (last ? `idle · last ${agoText(ago)}` : "no heartbeats yet");
      const today = $("#live-today");
      today.textContent = `today ${state.today_text}`;
      today.dataset.seconds = String(state.today_seconds);
      if (setupBox && last) {
        $("#setup-last").textContent = last.file;
        const when = new Date(last.time * 1000).toLocaleTimeString();
        $("#setup-last-detail").textContent =
          `${last.project || "no project"} · ${last.language || "unknown language"} · ` +
          `${last.editor || "unknown editor"} · ${when} (${agoText(ago)})`;
        setupBox.classList.add("seen");
      }
    }
    function show(next) {
      state = next;
      receivedAt = Date.now();
      paint();
      document.dispatchEvent(new CustomEvent("hackatime:live", { detail: next }));
    }

    function poll() {
      const every = setupBox ? 3000 : 15000;
      let timer = null;
      async function refresh() {
        try {
          show(await getJSON(box.dataset.liveUrl));
        } catch (error) {
          $("#live-status").textContent = "offline";
        }
      }
      function schedule() {
        clearInterval(timer);
        if (document.visibilityState === "visible") {
          refresh();
          timer = setInterval(refresh, every);
        }
      }
      box.dataset.mode = "polling";
      document.addEventListener("visibilitychange", schedule);
      schedule();
    }

    if (!window.EventSource || !box.dataset.eventsUrl) {
      poll();
      return;
    }
    const source = new EventSource(box.dataset.eventsUrl);
    box.dataset.mode = "events";
    source.addEventListener("state", (event) => { show(JSON.parse(event.data)); box.dataset.connected = "yes"; });
    source.addEventListener("heartbeat", (event) => {
      document.dispatchEvent(new CustomEvent("hackatime:heartbeat", { detail: JSON.parse(event.data) }));
    });
    source.addEventListener("error", () => {
      // The browser reconnects by itself (sending Last-Event-ID); a stream it gave up on (refused, logged out)
      // leaves the page polling, as without EventSource.
      if (source.readyState === EventSource.CLOSED) {
        poll();
      } else {
        $("#live-status").textContent = "reconnecting…";
      }
    });
    setInterval(paint, 30000);  // "last 3 min ago" keeps counting between events
  }

  // -- small form helpers ----------------------------------------------------------------------------
  function startForms() {
    $$("form[data-confirm]").forEach((form) => {
      form.addEventListener("submit", (event) => {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
    $$("[data-copy]").forEach((button) => {
      button.addEventListener("click", async () => {
        const source = $(button.dataset.copy);
        try {
          await navigator.clipboard.writeText(source.textContent.trim());
          button.textContent = "Copied";
        } catch (error) {
          const range = document.createRange();
          range.selectNodeContents(source);
          window.getSelection().removeAllRanges();
          window.getSelection().addRange(range);
          button.textContent = "Selected: press Ctrl+C";
        }
      });
    });
    $$("[data-browser-timezone]").forEach((input) => {
      try {
        input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
      } catch (error) { /* keep UTC */ }
    });
    $$("select[data-autosubmit]").forEach((select) => {
      select.addEventListener("change", () => select.form.submit());
    });
  }

  // -- settings: preview of today's total under another duration rule ------------------------------------
  function startPreview() {
    const preview = $("#preview");
    if (!preview) return;
    const mode = $("#duration_mode"), timeout = $("#timeout");
    let pending = null;
    async function update() {
      const params = new URLSearchParams({ duration_mode: mode.value, timeout: timeout.value });
      try {
        const result = await getJSON(`${preview.dataset.previewUrl}?${params}`);
        $("#preview-current").textContent = result.current_text;
        $("#preview-proposed").textContent = result.proposed_text;
        $("#preview-proposed").dataset.seconds = String(result.proposed_seconds);
      } catch (error) {
        $("#preview-proposed").textContent = error.message;
      }
    }
    const soon = () => { clearTimeout(pending); pending = setTimeout(update, 250); };
    mode.addEventListener("change", soon);
    timeout.addEventListener("input", soon);
    update();
  }

  // -- settings: import upload with progress -------------------------------------------------------------
  function startImport() {
    const form = $("#import-form");
    if (!form) return;
    const bar = $("#import-progress"), status = $("#import-status"), button = $("#import-button");
    const show = (text) => { status.textContent = text; };
    async function follow(job) {
      while (job.state !== "done" && job.state !== "failed" && job.state !== "cancelled") {
        if (job.bytes_total) bar.value = Math.round((100 * job.bytes_done) / job.bytes_total);
        show(`${job.state}… ${job.inserted || 0} heartbeats imported so far`);
        await new Promise((resolve) => setTimeout(resolve, 400));
        job = await getJSON(`${form.dataset.uploadUrl}/${job.id}`);
      }
      bar.value = 100;
      button.disabled = false;
      if (job.state === "done") {
        show(`Done: ${job.inserted} heartbeats imported, ${job.duplicates || 0} already here` +
          (job.rejected ? `, ${job.rejected} skipped as invalid` : "") + ".");
        status.dataset.state = "done";
      } else {
        show(`Import ${job.state}: ${job.error || "unknown error"}`);
        status.dataset.state = "failed";
      }
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const file = $("#import-file").files[0];
      if (!file) return;
      const request = new XMLHttpRequest();
      request.open("POST", form.dataset.uploadUrl);
      request.setRequestHeader("x-csrftoken", csrfToken());
      request.setRequestHeader("Content-Type", "application/octet-stream");
      request.upload.addEventListener("progress", (progress) => {
        if (progress.lengthComputable) bar.value = Math.round((100 * progress.loaded) / progress.total);
        show(`Uploading… ${Math.round(progress.loaded / 1024)} KiB`);
      });
      request.addEventListener("load", () => {
        let body = {};
        try { body = JSON.parse(request.responseText); } catch (error) { /* not JSON */ }
        if (request.status >= 400) {
          button.disabled = false;
          status.dataset.state = "failed";
          show(`Upload failed: ${body.error || request.status}`);
          return;
        }
        bar.value = 0;
        follow(body).catch((error) => show(`Lost track of the import: ${error.message}`));
      });
      request.addEventListener("error", () => { button.disabled = false; show("Upload failed: network error"); });
      bar.classList.remove("hidden");
      bar.value = 0;
      button.disabled = true;
      status.dataset.state = "uploading";
      request.send(file);
    });
  }

  // -- charts ------------------------------------------------------------------------------------------------
  const PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#ec4899", "#14b8a6",
    "#84cc16", "#f97316", "#64748b"];
  const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

  function navigate(changes) {
    const url = new URL(window.location.href);
    Object.entries(changes).forEach(([key, value]) => {
      if (value === null) url.searchParams.delete(key);
      else url.searchParams.set(key, value);
    });
    window.location.assign(url.toString());
  }

  // Heat-map axes are linear with cells centred on whole numbers: put the ticks there, not at the edges.
  const fixedTicks = (values) => (axis) => { axis.ticks = values.map((value) => ({ value })); };
  const WEEKDAY_TICKS = [0, 1, 2, 3, 4, 5, 6];

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function withAlpha(hex, alpha) {
    const value = parseInt(hex.replace("#", ""), 16);
    return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
  }

  function startCharts() {
    const dataNode = $("#chart-data");
    if (!dataNode || !window.Chart) return;
    const data = JSON.parse(dataNode.textContent);
    const Chart = window.Chart;
    const accent = cssVar("--accent") || "#4f46e5";
    const muted = cssVar("--muted") || "#667085";
    const line = cssVar("--line") || "#e4e7ec";
    Chart.defaults.color = muted;
    Chart.defaults.borderColor = line;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.animation = false;
    Chart.defaults.plugins.legend.display = false;
    const hourTicks = { callback: (value) => shortText(value * 3600) };

    const dailyCanvas = $("#chart-daily");
    let dailyChart = null;
    if (dailyCanvas && data.daily) {
      dailyChart = new Chart(dailyCanvas, {
        type: "bar",
        data: {
          labels: data.daily.map((d) => d.d),
          datasets: [{ data: data.daily.map((d) => d.v / 3600), backgroundColor: accent, borderRadius: 3 }],
        },
        options: {
          scales: {
            x: { grid: { display: false }, ticks: { callback(value) {
              const day = new Date(`${this.getLabelForValue(value)}T12:00:00`);
              return data.daily.length <= 14
                ? `${WEEKDAYS[(day.getDay() + 6) % 7]} ${day.getDate()}`
                : `${day.getMonth() + 1}/${day.getDate()}`;
            } } },
            y: { beginAtZero: true, ticks: hourTicks },
          },
          plugins: { tooltip: { callbacks: { label: (item) => humanText(item.raw * 3600) } } },
          onClick: (event, elements) => {
            if (elements.length && $("#card-timeline")) navigate({ day: data.daily[elements[0].index].d });
          },
          onHover: (event, elements) => { event.native.target.style.cursor = elements.length ? "pointer" : "default"; },
        },
      });
    }

    $$("canvas[data-breakdown]").forEach((canvas) => {
      const entries = (data.breakdowns || {})[canvas.dataset.breakdown] || [];
      const top = entries.slice(0, 8);
      const rest = entries.slice(8).reduce((sum, e) => sum + e.seconds, 0);
      const labels = top.map((e) => e.name).concat(rest > 0 ? ["Others"] : []);
      const values = top.map((e) => e.seconds).concat(rest > 0 ? [rest] : []);
      new Chart(canvas, {
        type: "doughnut",
        data: { labels, datasets: [{ data: values, backgroundColor: PALETTE, borderWidth: 0 }] },
        options: {
          cutout: "62%",
          plugins: {
            legend: { display: true, position: "right", labels: { boxWidth: 10, font: { size: 11 } } },
            tooltip: { callbacks: { label: (item) => `${item.label}: ${humanText(item.raw)}` } },
          },
          onClick: (event, elements) => {
            const index = elements.length ? elements[0].index : -1;
            if (index >= 0 && index < top.length) navigate({ [canvas.dataset.param]: top[index].name, day: null });
          },
          onHover: (event, elements) => { event.native.target.style.cursor = elements.length ? "pointer" : "default"; },
        },
      });
    });

    let timelineChart = null;
    let timelineDay = null;
    function drawTimeline(panels) {
      const canvas = $("#chart-timeline");
      if (!canvas) return;
      timelineDay = panels.day;
      if (timelineChart) timelineChart.destroy();
      const clock = (hours) => `${String(Math.floor(hours)).padStart(2, "0")}:` +
        String(Math.floor((hours % 1) * 60 + 1e-6)).padStart(2, "0");
      timelineChart = new Chart(canvas, {
        type: "bar",
        data: {
          labels: ["Coding"],
          datasets: [{
            data: panels.timeline.map((b) => ({ x: [b.from, b.to], y: "Coding", text: b.text })),
            backgroundColor: accent,
            minBarLength: 3,
            barPercentage: 0.8,
            categoryPercentage: 1,
            grouped: false,
          }],
        },
        options: {
          indexAxis: "y",
          scales: {
            x: { type: "linear", min: 0, max: panels.dayHours || 24,
              ticks: { stepSize: 3, maxRotation: 0, autoSkipPadding: 8, callback: (v) => clock(v).slice(0, 2) } },
            y: { grid: { display: false }, ticks: { display: false } },
          },
          plugins: { tooltip: { callbacks: {
            title: () => "",
            label: (item) => `${clock(item.raw.x[0])}–${clock(item.raw.x[1])} (${item.raw.text})`,
          } } },
        },
      });
      const total = panels.timeline.length;
      const caption = $("#timeline-caption");
      if (caption) caption.textContent = total ? `${total} session${total === 1 ? "" : "s"}.` : "No coding on this day.";
    }

    function heatColor(value, max) {
      if (!value) return withAlpha(line.startsWith("#") ? line : "#e4e7ec", 0.9);
      return withAlpha(accent.startsWith("#") ? accent : "#4f46e5", 0.2 + 0.8 * Math.min(1, value / max));
    }

    function drawYear(panels) {
      const yearCanvas = $("#chart-year");
      if (!yearCanvas || !panels.year) return;
      const max = Math.max(1, ...panels.year.map((c) => c.v));
      const weeks = Math.max(1, ...panels.year.map((c) => c.x + 1));
      new Chart(yearCanvas, {
        type: "matrix",
        data: { datasets: [{
          data: panels.year,
          backgroundColor: (ctx) => heatColor((ctx.raw || {}).v, max),
          borderWidth: 0,
          width: ({ chart }) => ((chart.chartArea || {}).width || 0) / weeks - 2,
          height: ({ chart }) => ((chart.chartArea || {}).height || 0) / 7 - 2,
        }] },
        options: {
          scales: {
            x: { type: "linear", min: -0.5, max: weeks - 0.5, offset: false, display: false },
            y: { type: "linear", min: -0.5, max: 6.5, reverse: true, offset: false, grid: { display: false },
              afterBuildTicks: fixedTicks([0, 2, 4, 6]), ticks: { callback: (value) => WEEKDAYS[value] || "" } },
          },
          plugins: { tooltip: { callbacks: {
            title: () => "",
            label: (item) => `${item.raw.d}: ${humanText(item.raw.v)}`,
          } } },
          onClick: (event, elements) => {
            if (elements.length) navigate({ start: panels.year[elements[0].index].d, end: panels.year[elements[0].index].d, range: null, day: null });
          },
        },
      });
    }

    function drawHours(panels) {
      const hoursCanvas = $("#chart-hours");
      if (!hoursCanvas || !panels.hours) return;
      const cells = [];
      panels.hours.forEach((row, weekday) => row.forEach((seconds, hour) => cells.push({ x: hour, y: weekday, v: seconds })));
      const max = Math.max(1, ...cells.map((c) => c.v));
      new Chart(hoursCanvas, {
        type: "matrix",
        data: { datasets: [{
          data: cells,
          backgroundColor: (ctx) => heatColor((ctx.raw || {}).v, max),
          borderWidth: 0,
          width: ({ chart }) => ((chart.chartArea || {}).width || 0) / 24 - 2,
          height: ({ chart }) => ((chart.chartArea || {}).height || 0) / 7 - 2,
        }] },
        options: {
          scales: {
            x: { type: "linear", min: -0.5, max: 23.5, offset: false, grid: { display: false },
              afterBuildTicks: fixedTicks([0, 6, 12, 18, 23]),
              ticks: { callback: (value) => `${String(value).padStart(2, "0")}h` } },
            y: { type: "linear", min: -0.5, max: 6.5, reverse: true, offset: false, grid: { display: false },
              afterBuildTicks: fixedTicks(WEEKDAY_TICKS), ticks: { callback: (value) => WEEKDAYS[value] || "" } },
          },
          plugins: { tooltip: { callbacks: {
            title: () => "",
            label: (item) => `${WEEKDAYS[item.raw.y]} ${String(item.raw.x).padStart(2, "0")}:00: ${humanText(item.raw.v)}`,
          } } },
        },
      });
    }

    // Live: today's new time moves today's bar, the range's total card (when the range holds today and no
    // filter is on: a filtered total cannot be told from today's total) and, when it shows today, the timeline.
    document.addEventListener("hackatime:live", (event) => {
      const live = event.detail;
      const index = (data.daily || []).findIndex((d) => d.d === live.today_date);
      if (index < 0 || $("#active-filters")) return;
      const delta = live.today_seconds - data.daily[index].v;
      if (!delta) return;
      data.daily[index].v = live.today_seconds;
      if (dailyChart) {
        dailyChart.data.datasets[0].data[index] = live.today_seconds / 3600;
        dailyChart.update();
      }
      const total = $("#total");
      if (total) {
        const seconds = Number(total.dataset.seconds) + delta;
        total.dataset.seconds = String(seconds);
        total.textContent = humanText(seconds);
      }
      if (data.panelsUrl && timelineDay === live.today_date) {
        getJSON(data.panelsUrl).then(drawTimeline).catch(() => { /* keeps the last drawing */ });
      }
    });

    // The heavier charts load after the page, in parallel.
    const later = [];
    if (data.panelsUrl) later.push(getJSON(data.panelsUrl).then((panels) => { drawTimeline(panels); drawHours(panels); }));
    if (data.yearUrl) later.push(getJSON(data.yearUrl).then(drawYear));
    if (later.length) {
      Promise.all(later).then(() => { document.body.dataset.panels = "loaded"; }).catch((error) => {
        document.body.dataset.panels = "failed";
        $$(".panel-error").forEach((node) => { node.textContent = `Could not load: ${error.message}`; });
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    startLive();
    startForms();
    startPreview();
    startImport();
    startCharts();
  });

  window.hackatimeLite = { humanText, shortText };
})();
