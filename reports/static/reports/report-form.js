// Product autocomplete for the sales report: search this store's products and add them to the
// multiple select (which stays the real form field, so the page works without this script when
// the store has few products and all are listed).
(function () {
  "use strict";
  var input = document.getElementById("product-search");
  var select = document.getElementById("id_products");
  if (!input || !select) return;
  var list = document.createElement("ul");
  list.className = "report-suggestions";
  list.setAttribute("role", "listbox");
  list.style.cssText = "list-style:none;margin:4px 0;padding:0;max-width:420px";
  input.insertAdjacentElement("afterend", list);
  var timer = null;

  function add(item) {
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === String(item.id)) { select.options[i].selected = true; return; }
    }
    var option = new Option(item.text, item.id, true, true);
    select.add(option);
  }

  function show(results) {
    list.textContent = "";
    results.forEach(function (item) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.style.cssText = "margin:2px 0;width:100%;text-align:left";
      button.textContent = item.text;
      button.addEventListener("click", function () { add(item); list.textContent = ""; input.value = ""; input.focus(); });
      li.appendChild(button);
      list.appendChild(li);
    });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    var q = input.value.trim();
    if (q.length < 2) { list.textContent = ""; return; }
    timer = setTimeout(function () {
      fetch(input.dataset.url + "&q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) { show(data.results || []); })
        .catch(function () { list.textContent = ""; });
    }, 250);
  });
})();
