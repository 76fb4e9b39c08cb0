// Follows a resync request to its outcome without a reload: polls the request's JSON, whose URL
// the page gives (data-state-url, written with the console's base URL): no path is written here.
(function () {
  var box = document.getElementById("request");
  if (!box || box.dataset.finished === "true") return;
  var stateUrl = box.dataset.stateUrl;
  function show(state) {
    var status = document.getElementById("status");
    status.textContent = state.status_label;
    status.className = "status-" + state.status;
    status.dataset.status = state.status;
    document.getElementById("position").textContent =
      state.position ? "待ち行列の " + state.position + " 番目" : "";
    var f = state.figures;
    document.getElementById("figures").textContent = f
      ? "追加 " + f.videos_added + "、更新 " + f.videos_updated + "、削除 " + f.videos_removed +
        "、クォータ " + f.quota_units + " ユニット"
      : "";
    var error = document.getElementById("error");
    error.textContent = state.error || "";
    error.hidden = !state.error;
    document.getElementById("daemon").hidden = state.daemon_alive || state.finished;
    if (state.finished) {
      var outcome = document.getElementById("outcome");
      outcome.textContent = state.outcome_label;
      outcome.className = "status-" + state.outcome;
      outcome.dataset.outcome = state.outcome;
      document.getElementById("outcome-line").hidden = false;
    }
    var cancel = document.getElementById("cancel");
    if (cancel) cancel.hidden = state.status !== "queued";
    box.dataset.finished = state.finished ? "true" : "false";
  }
  function poll() {
    fetch(stateUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (state) {
        show(state);
        if (!state.finished) setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();

// No inline script anywhere (the Content-Security-Policy forbids it): page behaviour lives here.

// Resync form: typing in a field selects its kind, so a pasted URL is sent as a video request.
document.querySelectorAll("#resync-form fieldset").forEach(function (fs) {
  fs.addEventListener("input", function (e) {
    if (e.target.name === "kind") return;
    var radio = fs.querySelector("input[name=kind]");
    if (radio) radio.checked = true;
  });
});

// Channel switchers: choosing a channel opens it (the button is there without JavaScript).
document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
  select.addEventListener("change", function () {
    select.form.submit();
  });
});
