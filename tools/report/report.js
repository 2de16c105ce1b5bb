/* tools/report/report.js -- the script `tlsdrill report` inlines (embedded
 * at build time by embed.cmake). Progressive: the page is complete without
 * it; with it, the matrix folds each rule's cases under its row and gets
 * filters by level, grade, peer and text, and a link to a case opens it.
 * It makes no request of any kind. */
(function () {
  "use strict";
  var doc = document;
  doc.documentElement.classList.add("js");
  var form = doc.getElementById("filters");
  var table = doc.getElementById("matrix-table");

  function checked(name) {
    var out = {};
    var boxes = form.querySelectorAll('input[name="' + name + '"]');
    for (var i = 0; i < boxes.length; i++) if (boxes[i].checked) out[boxes[i].value] = true;
    return out;
  }

  /* A row stays when its level matches, its text matches, and one of its
   * cells in a shown peer column has a chosen grade. */
  function apply() {
    var level = doc.getElementById("f-level").value;
    var text = doc.getElementById("f-text").value.trim().toLowerCase();
    var grades = checked("grade");
    var peers = checked("peer");
    doc.documentElement.classList.toggle("allcases", doc.getElementById("f-cases").checked || text !== "");
    var cols = table.querySelectorAll("[data-p]");
    for (var i = 0; i < cols.length; i++) cols[i].classList.toggle("hidecol", !peers[cols[i].getAttribute("data-p")]);
    var causes = doc.querySelectorAll(".peercauses");
    for (i = 0; i < causes.length; i++) causes[i].classList.toggle("hidecol", !peers[causes[i].getAttribute("data-p")]);

    function gradeOk(row) {
      var cells = row.querySelectorAll("td.c");
      for (var k = 0; k < cells.length; k++)
        if (peers[cells[k].getAttribute("data-p")] && grades[cells[k].getAttribute("data-g")]) return true;
      return false;
    }
    var bodies = table.querySelectorAll("tbody.rule");
    var shownRules = 0, shownCases = 0, allCases = 0;
    for (i = 0; i < bodies.length; i++) {
      var body = bodies[i];
      var ruleText = (body.querySelector("tr.r").getAttribute("data-text") || "").toLowerCase();
      var ruleTextOk = text === "" || ruleText.indexOf(text) >= 0;
      var cases = body.querySelectorAll("tr.k");
      var any = false;
      for (var k = 0; k < cases.length; k++) {
        var row = cases[k];
        allCases++;
        var ok = (level === "" || row.getAttribute("data-level") === level) && gradeOk(row) &&
          (ruleTextOk || (row.getAttribute("data-text") || "").toLowerCase().indexOf(text) >= 0);
        row.classList.toggle("hide", !ok);
        if (ok) { any = true; shownCases++; }
      }
      body.classList.toggle("hide", !any);
      if (any) shownRules++;
    }
    /* A family or section heading stays while a rule under it does. */
    function headings(cls, under) {
      var heads = table.querySelectorAll("tbody." + cls);
      for (var h = 0; h < heads.length; h++) {
        var next = heads[h].nextElementSibling, keep = false;
        while (next && under.some(function (u) { return next.classList.contains(u); })) {
          if (next.classList.contains("rule") && !next.classList.contains("hide")) keep = true;
          next = next.nextElementSibling;
        }
        heads[h].classList.toggle("hide", !keep);
      }
    }
    headings("fam", ["rule", "sec"]);
    headings("sec", ["rule"]);
    doc.getElementById("f-status").textContent =
      "showing " + shownRules + " of " + bodies.length + " rules, " + shownCases + " of " + allCases + " case rows";
  }

  if (form && table) {
    form.hidden = false;
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    table.addEventListener("click", function (e) {
      var row = e.target.closest("tr.r");
      if (row && !e.target.closest("a")) row.parentNode.classList.toggle("open");
    });
    apply();
  }

  /* A link to a case (matrix, root causes, or the URL's #case-N) opens it. */
  function openTarget() {
    var id = location.hash.slice(1);
    var el = id ? doc.getElementById(id) : null;
    if (el && el.tagName === "DETAILS") {
      el.open = true;
      el.scrollIntoView();
    }
  }
  window.addEventListener("hashchange", openTarget);
  /* ?case=case-N: that case alone, open (a link to one case, or a
   * screenshot of it); otherwise the #case-N of the URL. */
  var focus = /[?&]case=([\w-]+)/.exec(location.search);
  var one = focus ? doc.getElementById(focus[1]) : null;
  if (one && one.tagName === "DETAILS") {
    doc.documentElement.classList.add("focus");
    one.classList.add("focused");
    one.open = true;
  } else {
    openTarget();
  }
  doc.documentElement.setAttribute("data-report-ready", "1");
})();
