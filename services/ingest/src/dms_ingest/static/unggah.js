// Upload of several files at once: one XHR per file, each with its own progress bar and its
// own message (the API's Indonesian message when a file is refused). When the ten-minute access
// cookie has run out, a file answered 401 renews the session once (POST /staf/sesi, spending the
// refresh cookie) and is sent again instead of failing.
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

  function show(view, ok, text, link, linkText) {
    view.message.className = "pesan " + (ok ? "ok" : "bad");
    view.message.textContent = text;
    view.li.dataset.result = ok ? "ok" : "ditolak";
    if (link) {
      var a = document.createElement("a");
      a.href = link; a.textContent = " " + (linkText || "Lihat dokumen");
      view.message.appendChild(a);
    }
  }

  // One renewal at a time for every file: the refresh token rotates, and a second request
  // spending the same token would be taken for a replay and end the whole session.
  var renewing = null;
  function renew() {
    if (!renewing) {
      renewing = fetch("/staf/sesi", {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": form.dataset.csrf, "Accept": "application/json" }
      }).then(function (r) { return r.status === 204; }, function () { return false; })
        .then(function (ok) { renewing = null; return ok; });
    }
    return renewing;
  }

  function sessionEnded(view) {
    var here = window.location.pathname + window.location.search;
    show(view, false, "Sesi Anda berakhir. Silakan masuk kembali.",
         "/staf/masuk?next=" + encodeURIComponent(here), "Masuk");
  }

  function send(file) {
    var view = row(file);
    if (file.size > maxBytes) {
      show(view, false, "Ditolak: berkas melebihi batas ukuran.");
      return;
    }
    attempt(file, view, false);
  }

  function retry(file, view) {
    view.bar.value = 0;
    view.message.textContent = "Memperbarui sesi…";
    renew().then(function (ok) {
      if (ok) { attempt(file, view, true); } else { sessionEnded(view); }
    });
  }

  function attempt(file, view, retried) {
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
      } else if (xhr.status === 401 && !retried) {
        retry(file, view);
      } else if (xhr.status === 401) {
        sessionEnded(view);
      } else {
        show(view, false, "Ditolak: " + (body.message || ("kesalahan " + xhr.status)));
      }
    });
    xhr.addEventListener("error", function () {
      // A 401 may come back before the file is sent, and the server then closes the
      // connection: the browser can report that as a network error. Renew and try once more.
      if (!retried) { retry(file, view); return; }
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
