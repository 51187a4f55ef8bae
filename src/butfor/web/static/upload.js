// The upload's size check before anything is sent: the server refuses an
// oversized upload without reading it (so it cannot keep the other fields);
// here the same sentence is shown beside the file field and nothing is lost.
(function () {
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var limit = Number(form.dataset.limitBytes);
  form.addEventListener("submit", function (event) {
    var input = document.getElementById("files");
    var total = 0;
    for (var i = 0; i < input.files.length; i++) { total += input.files[i].size; }
    if (!(total > limit)) { return; }
    event.preventDefault();
    var field = document.getElementById("files-field");
    var message = document.getElementById("files-error");
    if (!message) {
      message = document.createElement("p");
      message.className = "error";
      message.id = "files-error";
      field.appendChild(message);
    }
    message.textContent = form.dataset.tooLarge;
    field.classList.add("bad");
  });
})();
