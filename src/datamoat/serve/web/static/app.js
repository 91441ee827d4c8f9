/* datamoat web UI: charts, the annotation page, monitor refresh and the retrain button.
   Data from the server is only ever written with textContent (never innerHTML). */
"use strict";
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function pct(v) {
    return typeof v === "number" && isFinite(v) ? (100 * v).toFixed(1) + "%" : "–";
  }

  function ci(iv) {
    return Array.isArray(iv) && iv.length === 2 && iv.every((x) => typeof x === "number")
      ? "[" + pct(iv[0]) + ", " + pct(iv[1]) + "]" : "";
  }

  function pvalue(v) {
    if (typeof v !== "number" || !isFinite(v)) return "–";
    return v < 1e-12 ? "<1e-12" : Number(v.toPrecision(3)).toString();
  }

  function badge(node, status) {
    node.textContent = String(status || "none").replace(/_/g, " ");
    node.className = "badge status-" + String(status || "none").replace(/[^a-z_]/g, "");
  }

  /* JSON API call with the login cookie; 401 sends the browser back to the login form. */
  async function api(method, url, body) {
    const init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(url, init);
    if (resp.status === 401) {
      window.location.assign("/ui/login?next=" + encodeURIComponent(window.location.pathname));
      throw new Error("your login has expired; log in again.");
    }
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok) {
      const detail = data && data.detail;
      const text = typeof detail === "string" ? detail : (detail ? JSON.stringify(detail) : resp.statusText);
      throw new Error("the server answered " + resp.status + ": " + text);
    }
    return data;
  }

  /* ------------------------------------------------------------------ charts */
  function drawCharts() {
    if (typeof window.Plotly === "undefined") return;
    document.querySelectorAll(".chart[data-figure]").forEach((div) => {
      const fig = JSON.parse(div.dataset.figure);
      window.Plotly.newPlot(div, fig.data, fig.layout, { displaylogo: false, responsive: true });
    });
  }

  /* ------------------------------------------------------------------ annotate */
  function annotatePage() {
    const root = $("#annotator");
    const classes = JSON.parse(root.dataset.classes || "[]");
    const many = root.dataset.many === "true";
    const shown = parseInt(root.dataset.shown || "9", 10);
    const state = { item: null, queueLength: 0, chosen: null, busy: false, done: 0,
                    skipped: new Set(), rankings: {}, visible: [] };
    const filter = $("#label-filter");
    const message = $("#message");

    function say(text, isError) {
      message.textContent = text || "";
      message.className = isError ? "error" : "muted";
    }

    function renderCounts(counts) {
      const table = $("#status-counts");
      table.replaceChildren();
      Object.keys(counts || {}).sort().forEach((status) => {
        const tr = el("tr");
        const th = el("th");
        const b = el("span");
        badge(b, status);
        th.appendChild(b);
        tr.appendChild(th);
        tr.appendChild(el("td", counts[status], "num"));
        table.appendChild(tr);
      });
    }

    function labelsToShow() {
      const item = state.item;
      const term = filter ? filter.value.trim().toLowerCase() : "";
      if (!many) return classes.filter((c) => !term || c.toLowerCase().includes(term));
      const ranked = (state.rankings[String(item.record_id)] || []).map((r) => r.label);
      if (item.suggestion_label && !ranked.includes(item.suggestion_label)) ranked.unshift(item.suggestion_label);
      if (!term) return ranked.concat(classes.filter((c) => !ranked.includes(c))).slice(0, shown);
      const matches = classes.filter((c) => c.toLowerCase().includes(term));
      return matches.filter((c) => ranked.includes(c)).concat(matches.filter((c) => !ranked.includes(c))).slice(0, 40);
    }

    function renderLabels() {
      const list = $("#labels");
      list.replaceChildren();
      state.visible = labelsToShow();
      const scores = {};
      (state.rankings[String(state.item.record_id)] || []).forEach((r) => { scores[r.label] = r.score; });
      state.visible.forEach((label, i) => {
        const li = el("li");
        const button = el("button", null, "label-choice");
        button.type = "button";
        button.dataset.label = label;
        if (i < 9) button.appendChild(el("kbd", i + 1));
        button.appendChild(el("span", label, "label-text"));
        if (label === state.item.suggestion_label) button.appendChild(el("span", "model", "badge alias"));
        if (scores[label] !== undefined) button.appendChild(el("span", pct(scores[label]), "muted small"));
        const picked = label === state.chosen;
        button.classList.toggle("chosen", picked);
        button.setAttribute("aria-pressed", picked ? "true" : "false");
        button.addEventListener("click", () => choose(label));
        li.appendChild(button);
        list.appendChild(li);
      });
      if (!state.visible.length) list.appendChild(el("li", "no label matches the filter", "muted"));
    }

    function choose(label) {
      state.chosen = label;
      renderLabels();
      say("Picked “" + label + "”; press Enter to submit.");
    }

    function showItem(item) {
      state.item = item;
      state.chosen = item.draft_label || null;
      $("#loading").hidden = true;
      $("#empty").hidden = true;
      const box = $("#item");
      box.hidden = false;
      box.dataset.recordId = String(item.record_id);
      badge($("#item-status"), item.status);
      const answers = item.responses_so_far ? " · " + item.responses_so_far + " answer(s) so far" : "";
      $("#item-position").textContent = "record " + item.record_id + " · " + state.queueLength +
        " waiting for you" + answers;
      $("#item-text").textContent = item.text || "";
      const sug = $("#item-suggestion");
      sug.replaceChildren();
      if (item.suggestion_label) {
        sug.appendChild(document.createTextNode("Model suggests "));
        sug.appendChild(el("strong", item.suggestion_label));
        sug.appendChild(document.createTextNode(" (" + pct(item.suggestion_score) + ")"));
        if (item.status === "review") {
          sug.appendChild(el("span", " — someone disagreed with this confident prediction; decide which label is right.", "muted"));
        }
      } else {
        sug.textContent = "No model suggestion.";
      }
      if (filter) filter.value = "";
      renderLabels();
    }

    function showEmpty() {
      state.item = null;
      $("#loading").hidden = true;
      $("#item").hidden = true;
      $("#empty").hidden = false;
    }

    async function loadRankings(items) {
      const ids = items.map((i) => i.record_id).filter((id) => state.rankings[String(id)] === undefined);
      if (!many || !ids.length) return;
      try {
        const data = await api("GET", "/ui/annotate/ranking?ids=" + ids.slice(0, 50).join(","));
        Object.assign(state.rankings, data.rankings || {});
      } catch (e) { /* the suggestion alone still orders the labels */ }
    }

    async function loadQueue() {
      const data = await api("GET", "/v1/queue?limit=20");
      renderCounts(data.counts);
      const items = (data.items || []).filter((i) => !state.skipped.has(i.record_id));
      state.queueLength = items.length;
      if (!items.length) {
        if ((data.items || []).length) say("Only skipped items are left; reload the page to see them again.");
        showEmpty();
        return;
      }
      await loadRankings(items);
      showItem(items[0]);
    }

    async function loadAgreement() {
      try {
        const data = await api("GET", "/v1/agreement");
        const pairs = data.pairs || [];
        const people = data.per_annotator || [];
        if (typeof data.overall_fleiss_kappa !== "number" && !pairs.length) return;
        $("#agreement").hidden = false;
        const k = data.overall_fleiss_kappa;
        $("#fleiss").textContent = typeof k === "number" ? k.toFixed(3) : "–";
        $("#agreement-items").textContent = data.items ? "(" + data.items + " items)" : "";
        const fill = (tbody, rows, name) => {
          tbody.replaceChildren();
          rows.forEach((r) => {
            const tr = el("tr");
            tr.appendChild(el("td", name(r)));
            tr.appendChild(el("td", typeof r.kappa === "number" ? r.kappa.toFixed(3) : "–", "num"));
            tr.appendChild(el("td", r.items, "num"));
            tbody.appendChild(tr);
          });
        };
        fill($("#agreement-annotators tbody"), people, (r) => r.user);
        fill($("#agreement-pairs tbody"), pairs, (r) => r.a + " × " + r.b);
      } catch (e) { /* agreement is optional */ }
    }

    async function answer(body, done) {
      if (state.busy || !state.item) return;
      state.busy = true;
      try {
        const result = await api("POST", "/v1/annotations", Object.assign({ record_id: state.item.record_id }, body));
        say(done + (result && result.status ? " Record is now " + result.status + "." : ""));
        state.done += 1;
        $("#done-count").textContent = String(state.done);
        if (state.done % 5 === 0) loadAgreement();
        await loadQueue();
      } catch (e) {
        say(e.message, true);
      } finally {
        state.busy = false;
      }
    }

    function submit() {
      if (!state.item) return;
      if (!state.chosen) { say("Pick a label first (a digit key or a click).", true); return; }
      answer({ label: state.chosen, status: "submitted" }, "Saved “" + state.chosen + "”.");
    }

    function discard() {
      if (state.item) answer({ status: "discarded" }, "Discarded.");
    }

    function skip() {
      if (!state.item || state.busy) return;
      state.skipped.add(state.item.record_id);
      say("Skipped.");
      loadQueue().catch((e) => say(e.message, true));
    }

    document.addEventListener("keydown", (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || !state.item) return;
      if (ev.target === filter) {
        if (ev.key === "Escape") { filter.blur(); ev.preventDefault(); }
        if (ev.key === "Enter") {
          ev.preventDefault();
          if (state.visible.length) choose(state.visible[0]);
          filter.blur();
        }
        return;
      }
      if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLTextAreaElement) return;
      if (/^[1-9]$/.test(ev.key)) {
        const label = state.visible[parseInt(ev.key, 10) - 1];
        if (label !== undefined) { choose(label); ev.preventDefault(); }
      } else if (ev.key === "Enter") {
        ev.preventDefault();
        submit();
      } else if (ev.key === "x" || ev.key === "X") {
        ev.preventDefault();
        discard();
      } else if (ev.key === "s" || ev.key === "S") {
        ev.preventDefault();
        skip();
      } else if (ev.key === "/" && filter && !$("#filter-row").hidden) {
        ev.preventDefault();
        filter.focus();
      }
    });
    if (filter) filter.addEventListener("input", () => { if (state.item) renderLabels(); });
    $("#submit").addEventListener("click", submit);
    $("#discard").addEventListener("click", discard);
    $("#skip").addEventListener("click", skip);
    $("#reload-queue").addEventListener("click", () => {
      state.skipped.clear();
      loadQueue().catch((e) => say(e.message, true));
    });
    loadQueue().catch((e) => { $("#loading").hidden = true; say(e.message, true); });
    loadAgreement();
  }

  /* ------------------------------------------------------------------ monitor */
  function monitorPage() {
    const button = $("#refresh-monitor");
    const message = $("#monitor-message");
    button.addEventListener("click", async () => {
      button.disabled = true;
      message.className = "muted";
      message.textContent = "Computing a fresh report (drift checks take a few seconds)…";
      try {
        // the report is computed in the background: poll until it is saved, then show it
        let report = await api("GET", "/v1/monitor?refresh=true");
        while (report.refreshing) {
          await new Promise((done) => setTimeout(done, 1000));
          report = await api("GET", "/v1/monitor");
        }
        if (report.refresh_error) throw new Error(report.refresh_error);
        window.location.reload();
      } catch (e) {
        message.className = "error";
        message.textContent = e.message;
        button.disabled = false;
      }
    });
  }

  /* ------------------------------------------------------------------ flywheel */
  function flywheelPage() {
    const panel = $("#retrain-panel");
    const button = $("#retrain-now");
    const progress = $("#retrain-progress");
    const result = $("#retrain-result");

    function line(parent, label, value) {
      const p = el("p");
      p.appendChild(el("strong", label + ": "));
      p.appendChild(document.createTextNode(value));
      parent.appendChild(p);
    }

    async function refreshServed() {
      const data = await api("GET", "/v1/models");
      const s = data.served || {};
      const m = s.metrics || {};
      $("#served-ref").textContent = s.ref || "–";
      const aliases = $("#served-aliases");
      aliases.replaceChildren();
      (s.aliases || []).forEach((a) => { aliases.appendChild(el("span", a, "badge alias")); aliases.append(" "); });
      $("#served-kind").textContent = s.kind || "–";
      const acc = $("#served-accuracy");
      acc.replaceChildren(document.createTextNode(pct(m.accuracy) + " "));
      acc.appendChild(el("span", ci(m.accuracy_ci), "ci"));
      $("#served-f1").textContent = pct(m.macro_f1);
    }

    function showDecision(d) {
      result.replaceChildren();
      result.hidden = false;
      const f = d.figures || {};
      const ch = f.champion || {};
      const cl = f.challenger || {};
      const head = el("p", null, "big");
      const b = el("span");
      badge(b, d.promoted ? "ok" : "kept");
      b.textContent = d.promoted ? "promoted" : "kept";
      head.appendChild(b);
      head.appendChild(document.createTextNode(d.promoted
        ? " " + (d.challenger || "the challenger") + " is the new champion"
        : " " + (d.champion || "the champion") + " stays champion"));
      result.appendChild(head);
      line(result, "champion " + (d.champion || ""), pct(ch.accuracy) + " " + ci(ch.accuracy_ci));
      line(result, "challenger " + (d.challenger || ""), pct(cl.accuracy) + " " + ci(cl.accuracy_ci));
      line(result, "difference", pct(f.accuracy_difference) + " (bootstrap 95% CI " + ci(f.bootstrap_ci) + ")");
      line(result, "McNemar p", pvalue(f.mcnemar_p));
      line(result, "feedback rows", String(d.feedback_rows));
      result.appendChild(el("p", d.reason, "muted"));
      const again = el("a", "Reload the page to see it in the history");
      again.href = "/ui/flywheel";
      result.appendChild(again);
    }

    async function poll(jobId) {
      progress.hidden = false;
      result.hidden = true;
      if (button) button.disabled = true;
      const started = Date.now();
      for (;;) {
        let job;
        try {
          job = await api("GET", "/v1/retrain/" + encodeURIComponent(jobId));
        } catch (e) {
          result.hidden = false;
          result.replaceChildren(el("p", e.message, "error"));
          break;
        }
        badge($("#retrain-status"), job.status);
        $("#retrain-elapsed").textContent = Math.round((Date.now() - started) / 1000) + " s";
        const log = $("#retrain-log");
        log.replaceChildren();
        (job.progress || []).forEach((msg) => log.appendChild(el("li", msg)));
        if (job.status === "done") {
          showDecision(job.decision || {});
          try { await refreshServed(); } catch (e) { /* the decision is shown already */ }
          break;
        }
        if (job.status === "failed") {
          result.hidden = false;
          result.replaceChildren(el("p", "The retrain failed: " + (job.error || "unknown error"), "error"));
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      if (button) button.disabled = false;
    }

    if (button) {
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          const job = await api("POST", "/v1/retrain", {});
          await poll(job.id);
        } catch (e) {
          result.hidden = false;
          result.replaceChildren(el("p", e.message, "error"));
          button.disabled = false;
        }
      });
    }
    if (panel.dataset.jobId) poll(panel.dataset.jobId);
  }

  const pages = { annotate: annotatePage, monitor: monitorPage, flywheel: flywheelPage };
  document.addEventListener("DOMContentLoaded", () => {
    drawCharts();
    const run = pages[document.body.dataset.page];
    if (run) run();
  });
})();
