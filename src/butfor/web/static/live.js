// Live job status on the case page: poll the job's JSON once a second, show its
// progress line, and reload the page when the job has finished.
(function () {
  var status = document.getElementById("job-status");
  var progress = document.getElementById("job-progress");
  if (!status) { return; }
  var url = "/api/jobs/" + encodeURIComponent(status.dataset.job);
  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) { return; }
        status.textContent = job.status;
        status.dataset.state = job.status;
        progress.textContent = job.status === "running" ? job.progress : "";
        if (job.status === "done" || job.status === "failed") { window.location.reload(); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 500);
})();
