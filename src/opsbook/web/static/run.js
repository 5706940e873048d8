// Live output of a run page: appends each piece of output as the server sends it, updates the
// step and run statuses, and reloads the page once the run stops (to show what to do next).
(function () {
  "use strict";
  var head = document.getElementById("run-status");
  if (!head || !window.EventSource) { return; }
  var run = head.dataset.run;
  if (head.dataset.status !== "running") { return; }
  var source = new EventSource("/api/v1/runs/" + run + "/events?after=" + head.dataset.after);
  source.addEventListener("output", function (event) {
    var piece = JSON.parse(event.data);
    var pre = document.querySelector('pre[data-output="' + piece.step + '"]');
    if (!pre) { return; }
    pre.hidden = false;
    pre.appendChild(document.createTextNode(piece.text));
    pre.scrollTop = pre.scrollHeight;
  });
  source.addEventListener("status", function (event) {
    var state = JSON.parse(event.data);
    document.getElementById("run-badge").textContent = state.status;
    state.steps.forEach(function (step) {
      var badge = document.querySelector('[data-step-status="' + step.number + '"]');
      if (badge) {
        badge.textContent = step.status;
        badge.className = "badge s-" + step.status;
      }
    });
  });
  source.addEventListener("end", function () {
    source.close();
    window.location.reload();
  });
}());
