// The dashboard's only script: refresh the page's content in place while the box is
// ticked (and the tab is visible), and confirm before a resume.
(function () {
  "use strict";
  const KEY = "aion-auto-refresh";
  const body = document.body;
  const every = Number(body.dataset.refreshMs) || 5000;
  const box = document.getElementById("auto-refresh");

  function confirmResumes(root) {
    root.querySelectorAll("form.resume").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm || "Resume this run?")) event.preventDefault();
      });
    });
  }

  async function refresh() {
    if (!box.checked || document.hidden) return;
    const focused = document.activeElement;
    if (focused && focused.closest && focused.closest("form.filters")) return; // typing
    try {
      const response = await fetch(window.location.href, { headers: { "X-Refresh": "1" } });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.getElementById("live");
      const live = document.getElementById("live");
      if (fresh && live) {
        live.replaceChildren(...fresh.childNodes);
        confirmResumes(live);
        body.dataset.refreshedAt = String(Date.now());
      }
    } catch (error) {
      // the server went away for a moment: try again next time
    }
  }

  box.checked = window.localStorage.getItem(KEY) !== "off";
  box.addEventListener("change", function () {
    window.localStorage.setItem(KEY, box.checked ? "on" : "off");
  });
  confirmResumes(document);
  window.setInterval(refresh, every);
})();
