/* Parcel-locker picker of the delivery step (progressive enhancement).
 *
 * Without this script the picker still works: "Search" posts the delivery form and the lockers
 * found come back as radio buttons. With it, the list follows what the shopper types (our own
 * /zamowienie/paczkomaty/ endpoint, debounced), a picked locker fills the code field and is shown
 * with its address and hours, and the InPost Geowidget (when the store has a token) reports the
 * point chosen on the map through its "onpoint" event.
 */
(function () {
  "use strict";
  var box = document.querySelector("[data-pickup-point]");
  if (!box) return;
  var form = box.closest("form");
  var code = box.querySelector("#id_pickup_point");
  var query = box.querySelector("#id_points_q");
  var results = box.querySelector("#pickup-point-results");
  var chosen = box.querySelector("[data-testid=pickup-point-chosen]");
  var url = box.dataset.searchUrl;
  // UI strings come translated from the template (Django i18n), English as a last resort.
  var t = {
    chosen: box.dataset.tChosen || "Chosen parcel locker",
    open: box.dataset.tOpen || "Open",
    failed: box.dataset.tFailed || "The parcel locker search is not available right now.",
    none: box.dataset.tNone || "No parcel lockers found.",
  };
  var timer = null;
  var pending = null;
  var last = "";

  function el(tag, text) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    return node;
  }

  function cashOnDelivery() {
    var pay = form && form.querySelector("[name=payment_method]:checked");
    return !!pay && pay.dataset.provider === "cod";
  }

  function showChosen(point) {
    if (!chosen) return;
    chosen.textContent = "";
    chosen.appendChild(document.createTextNode(t.chosen + ": "));
    chosen.appendChild(el("strong", point.name));
    if (point.address) chosen.appendChild(document.createTextNode(" – " + point.address));
    if (point.hours || point.description) {
      chosen.appendChild(el("br"));
      var small = el("small", (point.hours ? t.open + ": " + point.hours : "") +
        (point.description ? (point.hours ? " · " : "") + point.description : ""));
      chosen.appendChild(small);
    }
    chosen.hidden = false;
  }

  function choose(point) {
    if (!point || !point.name) return;
    code.value = point.name;
    showChosen(point);
    code.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function message(text) {
    results.textContent = "";
    var p = el("p", text);
    p.className = "msg error";
    p.setAttribute("role", "alert");
    results.appendChild(p);
  }

  function render(points) {
    results.textContent = "";
    if (!points.length) { message(t.none); return; }
    var list = el("ul");
    list.className = "pickup-point-list";
    list.dataset.testid = "pickup-point-list";
    points.forEach(function (point) {
      var item = el("li");
      var label = el("label");
      label.className = "pickup-point-option";
      var radio = el("input");
      radio.type = "radio";
      radio.name = "pickup_point_choice";
      radio.value = point.name;
      radio.style.width = "auto";
      radio.dataset.testid = "pickup-point-option";
      radio.checked = point.name === code.value.trim().toUpperCase();
      radio.addEventListener("change", function () {
        choose({ name: point.name, address: point.address, hours: point.hours, description: point.location_description });
      });
      label.appendChild(radio);
      label.appendChild(document.createTextNode(" "));
      label.appendChild(el("strong", point.name));
      label.appendChild(document.createTextNode(" – " + point.address + " "));
      if (point.distance_label) label.appendChild(el("small", "(" + point.distance_label + ")"));
      var info = [];
      if (point.hours) info.push(t.open + ": " + point.hours);
      if (point.location_description) info.push(point.location_description);
      if (info.length) { label.appendChild(el("br")); label.appendChild(el("small", info.join(" · "))); }
      item.appendChild(label);
      list.appendChild(item);
    });
    results.appendChild(list);
  }

  function search(text) {
    text = text.trim();
    if (text.length < 2 || text === last) return;
    last = text;
    if (pending) pending.abort();
    pending = new AbortController();
    results.setAttribute("aria-busy", "true");
    var params = new URLSearchParams({ q: text, format: "json" });
    if (cashOnDelivery()) params.set("cod", "1");
    fetch(url + "?" + params.toString(), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal: pending.signal,
    })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      })
      .then(function (answer) {
        results.removeAttribute("aria-busy");
        if (!answer.ok) { last = ""; message(answer.data.error || t.failed); return; }
        render(answer.data.points || []);
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") return;
        results.removeAttribute("aria-busy");
        last = "";
        message(t.failed);
      });
  }

  if (query) {
    query.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { search(query.value); }, 300);
    });
    query.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        clearTimeout(timer);
        last = "";
        search(query.value);
      }
    });
  }

  // Without JavaScript the button posts the form; with it, the list answers in place.
  var button = box.querySelector("[name=points_search]");
  if (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      last = "";
      search(query.value);
    });
  }

  // Radio buttons rendered by the server (after a no-JS search) behave like ours.
  results.addEventListener("change", function (event) {
    var radio = event.target;
    if (radio.name !== "pickup_point_choice" || !radio.dataset.name) return;
    choose({ name: radio.dataset.name, address: radio.dataset.address, hours: radio.dataset.hours, description: radio.dataset.description });
  });

  // A code typed by hand wins over an older radio choice.
  code.addEventListener("input", function () {
    results.querySelectorAll("[name=pickup_point_choice]:checked").forEach(function (r) { r.checked = false; });
    if (chosen) chosen.hidden = true;
  });

  // InPost Geowidget v5: onpoint="koszyk:inpost-point" dispatches this event with the point.
  document.addEventListener("koszyk:inpost-point", function (event) {
    var point = event.detail || {};
    var address = point.address || {};
    choose({
      name: point.name,
      address: [address.line1, address.line2].filter(Boolean).join(", "),
      hours: point.opening_hours || "",
      description: point.location_description || "",
    });
    var map = box.querySelector("[data-geowidget]");
    if (map) map.open = false;
  });
})();
