// Upload of several files at once: one XHR per file, each with its own progress bar and its
// own message (the API's Indonesian message when a file is refused).
(function () {
  "use strict";
  var form = document.getElementById("unggah");
  if (!form) { return; }
  var zone = document.getElementById("zona");
  var input = document.getElementById("berkas");
  var list = document.getElementById("hasil");
  var maxBytes = parseInt(form.dataset.maxBytes, 10);
  var single = form.dataset.single === "1";

  function field(name) {
    var el = form.elements.namedItem(name);
    return el && el.value ? el.value : "";
  }

  function title(name) {
    return name.replace(/\.[^.]+$/, "").replace(/[_]+/g, " ").trim() || name;
  }

  function row(file) {
    var li = document.createElement("li");
    var name = document.createElement("strong");
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    bar.setAttribute("aria-label", "Kemajuan unggah " + file.name);
    var message = document.createElement("p");
    message.className = "pesan";
    message.textContent = "Menunggu…";
    li.appendChild(name); li.appendChild(bar); li.appendChild(message);
    list.appendChild(li);
    return { li: li, bar: bar, message: message };
  }

  function show(view, ok, text, link) {
    view.message.className = "pesan " + (ok ? "ok" : "bad");
    view.message.textContent = text;
    view.li.dataset.result = ok ? "ok" : "ditolak";
    if (link) {
      var a = document.createElement("a");
      a.href = link; a.textContent = " Lihat dokumen";
      view.message.appendChild(a);
    }
  }

  function send(file) {
    var view = row(file);
    if (file.size > maxBytes) {
      show(view, false, "Ditolak: berkas melebihi batas ukuran.");
      return;
    }
    var data = new FormData();
    if (!single) {
      data.append("title", title(file.name));
      ["division_id", "document_date", "tags"].forEach(function (n) {
        if (field(n)) { data.append(n, field(n)); }
      });
    }
    data.append("file", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.target);
    xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        view.bar.value = Math.round(100 * e.loaded / e.total);
        view.message.textContent = "Mengunggah… " + view.bar.value + "%";
      }
    });
    xhr.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
      if (xhr.status === 201) {
        view.bar.value = 100;
        if (single) { window.location.reload(); return; }
        show(view, true, "Berhasil diunggah (status: diterima).", "/staf/dokumen/" + body.id);
      } else {
        show(view, false, "Ditolak: " + (body.message || ("kesalahan " + xhr.status)));
      }
    });
    xhr.addEventListener("error", function () {
      show(view, false, "Gagal: koneksi terputus.");
    });
    xhr.send(data);
  }

  function sendAll(files) {
    var items = Array.prototype.slice.call(files, 0, single ? 1 : files.length);
    items.forEach(send);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (input.files.length) { sendAll(input.files); input.value = ""; }
  });
  zone.addEventListener("click", function () { input.click(); });
  zone.addEventListener("keydown", function (e) {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); }
  });
  ["dragenter", "dragover"].forEach(function (n) {
    zone.addEventListener(n, function (e) { e.preventDefault(); zone.classList.add("aktif"); });
  });
  ["dragleave", "drop"].forEach(function (n) {
    zone.addEventListener(n, function (e) { e.preventDefault(); zone.classList.remove("aktif"); });
  });
  zone.addEventListener("drop", function (e) { sendAll(e.dataTransfer.files); });
})();
