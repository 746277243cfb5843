// The operator console: refreshes the live part every two seconds and turns each button
// into the admin API call it stands for, after a confirmation that names the container.
// Calls go with the session cookie (credentials: same-origin) and the CSRF token.
"use strict";

(function () {
  const REFRESH_MS = 2000;
  const GATE_NUMBERS = { lag: 1, verify: 2, shadow: 3, "error-rate": 4 };
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const controlsOn = document.querySelector('meta[name="console-controls"]').content === "on";
  const live = document.getElementById("live");
  const status = document.getElementById("live-status");
  const dialog = document.getElementById("confirm");
  const form = document.getElementById("confirm-form");
  const field = (id) => document.getElementById(id);
  let pending = null; // the action the open dialog confirms

  function api(method, url, body) {
    const headers = { "X-CSRF-Token": csrf, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method,
      credentials: "same-origin",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async function refresh() {
    try {
      const answer = await fetch("/console/live", { credentials: "same-origin" });
      if (answer.status === 401) {
        window.location.assign("/console/login");
        return;
      }
      if (!answer.ok) throw new Error("HTTP " + answer.status);
      live.innerHTML = await answer.text(); // server-rendered, escaped by the templates
      status.textContent = "updated " + new Date().toLocaleTimeString();
      status.classList.remove("stale");
      if (controlsOn) await showControls();
    } catch (err) {
      status.textContent = "refresh failed (" + err.message + "); retrying";
      status.classList.add("stale");
    }
  }

  async function showControls() {
    const answer = await api("GET", "/admin/v1/controls");
    if (!answer.ok) return;
    const all = (await answer.json()).controls || {};
    for (const span of live.querySelectorAll(".control-state")) {
      const tasks = all[span.dataset.container] || {};
      span.textContent = Object.entries(tasks)
        .map(([task, c]) => task + ": " + (c.state || (c.paused ? "paused" : "running")))
        .join(" · ");
    }
  }

  // Each button kind: what the dialog asks, and the API call(s) it makes.
  const ACTIONS = {
    phase: {
      title: (b) => "Move " + b.dataset.container + " to " + b.dataset.target,
      what: "PUT /admin/v1/phases/{container}: the same move as `mystira phase set`. A move the evidence gates refuse shows each failed gate.",
      reason: true,
      force: true,
      run: (b, f) =>
        api("PUT", "/admin/v1/phases/" + enc(b.dataset.container), {
          phase: b.dataset.target,
          force: f.force,
          reason: f.reason,
        }),
    },
    verify: {
      title: (b) => "Verify " + b.dataset.container,
      what: "POST /admin/v1/verify: compares both stores (a job; its report is linked when done).",
      run: (b) => api("POST", "/admin/v1/verify", { container: b.dataset.container }),
    },
    backfill: {
      title: (b) => "Backfill " + b.dataset.container + " into the " + b.dataset.to + " store",
      what: "POST /admin/v1/backfill: copies every document (a resumable job with progress).",
      run: (b) =>
        api("POST", "/admin/v1/backfill", { container: b.dataset.container, to: b.dataset.to }),
    },
    retry: {
      title: (b) => "Retry the dead letters of " + b.dataset.container,
      what: "POST /admin/v1/dead-letters/{id}/retry for each open dead letter of the container.",
      run: retryAll,
    },
    pause: controlAction("Pause", (f) => ({ paused: true, reason: f.reason })),
    resume: controlAction("Resume", (f) => ({ paused: false, reason: f.reason })),
    throttle: Object.assign(
      controlAction("Throttle", (f) => Object.assign({ reason: f.reason }, f.limits)),
      { rate: true },
    ),
  };

  function controlAction(verb, body) {
    return {
      title: (b) => verb + " " + b.dataset.task + " of " + b.dataset.container,
      what: "PUT /admin/v1/controls/{container}/{task}: the same call as the CLI's controls.",
      reason: true,
      run: (b, f) =>
        api(
          "PUT",
          "/admin/v1/controls/" + enc(b.dataset.container) + "/" + enc(b.dataset.task),
          body(f),
        ),
    };
  }

  async function retryAll(b) {
    const url = "/admin/v1/dead-letters?limit=1000&container=" + enc(b.dataset.container);
    const listed = await api("GET", url);
    if (!listed.ok) return listed;
    let last = listed;
    for (const letter of (await listed.clone().json()).items) {
      last = await api("POST", "/admin/v1/dead-letters/" + letter.id + "/retry");
      if (!last.ok) return last;
    }
    return last;
  }

  function enc(s) {
    return encodeURIComponent(s);
  }

  function open(button) {
    const action = ACTIONS[button.dataset.action];
    if (!action) return;
    pending = { button, action };
    form.reset();
    field("confirm-title").textContent = action.title(button);
    field("confirm-what").textContent = action.what;
    field("confirm-container").textContent = button.dataset.container;
    field("confirm-reason-box").hidden = !action.reason;
    field("confirm-force-box").hidden = !action.force;
    field("confirm-rate-box").hidden = !action.rate;
    field("confirm-result").replaceChildren();
    check();
    dialog.showModal();
    field("confirm-name").focus();
  }

  // The throttle's limits: only those filled in are sent ("none" lifts one).
  function limits() {
    const out = {};
    for (const input of field("confirm-rate-box").querySelectorAll("input")) {
      const text = input.value.trim();
      if (text === "") continue;
      out[input.name] = text.toLowerCase() === "none" ? null : Number(text);
    }
    return out;
  }

  function values() {
    return {
      typed: field("confirm-name").value.trim(),
      reason: field("confirm-reason").value.trim(),
      force: field("confirm-force").checked,
      limits: limits(),
    };
  }

  // Confirm only once the container is named, and a reason given where one is recorded.
  function check() {
    if (!pending) return;
    const f = values();
    const named = f.typed === pending.button.dataset.container;
    const reasoned = !pending.action.reason || f.reason !== "";
    const numbers = Object.values(f.limits).every((v) => v === null || Number.isFinite(v));
    field("confirm-ok").disabled = !(named && reasoned && numbers);
  }

  async function confirm(event) {
    event.preventDefault();
    if (!pending || field("confirm-ok").disabled) return;
    const { button, action } = pending;
    field("confirm-ok").disabled = true;
    const working = document.createElement("p");
    working.textContent = "sent; waiting for the answer (a switch of the primary waits for in-flight writes)";
    field("confirm-result").replaceChildren(working);
    let answer;
    try {
      answer = await action.run(button, values());
    } catch (err) {
      showProblem({ title: "Request failed", detail: err.message });
      return;
    }
    if (answer.ok) {
      dialog.close();
      pending = null;
      status.textContent = action.title(button) + ": done";
      await refresh();
      return;
    }
    let problem = { title: "HTTP " + answer.status, detail: "" };
    try {
      problem = await answer.json();
    } catch (err) {
      // not problem+json: keep the status line
    }
    showProblem(problem);
  }

  function showProblem(problem) {
    const box = field("confirm-result");
    const head = document.createElement("p");
    head.className = "refused";
    head.textContent = (problem.title || "Refused") + (problem.detail ? ": " + problem.detail : "");
    const list = document.createElement("ul");
    list.className = "failed-gates";
    for (const e of problem.errors || []) {
      const li = document.createElement("li");
      const gate = (e.path || "").startsWith("gates.") ? e.path.slice(6) : null;
      li.textContent = gate
        ? "gate " + (GATE_NUMBERS[gate] || "?") + " (" + gate + "): " + e.message
        : e.path + ": " + e.message;
      list.appendChild(li);
    }
    box.replaceChildren(head, list);
    check();
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button) open(button);
  });
  form.addEventListener("input", check);
  form.addEventListener("submit", confirm);
  field("confirm-cancel").addEventListener("click", () => {
    pending = null;
    dialog.close();
  });

  if (controlsOn) showControls();
  setInterval(() => {
    if (!document.hidden) refresh();
  }, REFRESH_MS);
})();
