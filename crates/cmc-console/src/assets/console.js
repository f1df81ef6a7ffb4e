// Progressive enhancement only: every form works without this file.
// A form with data-confirm asks once more before it is sent (the server
// still requires its confirmation checkbox).
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
