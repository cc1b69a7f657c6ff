/* The paper atlas's filter: a text box and facets that narrow the lists as you type.
 *
 * The page (rendered by tools/catalogue.py) holds a hidden form #atlas-filter and, in
 * #atlas-data, one record per paper: the id its entry's links end with, its facets and the
 * text the box searches. The rule is the one of catalogue.atlas_matches(): every word typed
 * must occur in the text; each facet set must agree. Plain JavaScript, no library.
 */
(function () {
  "use strict";

  function start() {
    var form = document.getElementById("atlas-filter");
    var dataNode = document.getElementById("atlas-data");
    if (!form || !dataNode) return;
    var papers = JSON.parse(dataNode.textContent);
    var byId = {};
    papers.forEach(function (p) { byId[p.id] = p; });

    var q = document.getElementById("atlas-q");
    var theme = document.getElementById("atlas-theme");
    var sub = document.getElementById("atlas-subtopic");
    var kind = document.getElementById("atlas-kind");
    var demo = document.getElementById("atlas-demo");
    var count = document.getElementById("atlas-count");
    var article = form.closest("article") || document.body;

    // Each list item of the atlas links one paper's entry: ...papers.html#paper-<id>.
    var items = [];
    article.querySelectorAll("li").forEach(function (li) {
      var a = li.querySelector('a[href*="#paper-"]');
      if (!a) return;
      var p = byId[a.getAttribute("href").split("#")[1]];
      if (p) items.push({ li: li, paper: p });
    });
    var lists = Array.from(new Set(items.map(function (it) { return it.li.parentElement; })));
    var sections = Array.from(article.querySelectorAll("section")).filter(function (s) {
      return !s.contains(form) && s.querySelector('li a[href*="#paper-"]');
    });

    // The sub-topic menu offers the sub-topics of the chosen theme (all of them otherwise).
    var allSubs = Array.from(sub.options).slice(1).map(function (o) { return o.value; });
    function fillSubtopics() {
      var keep = sub.value;
      var wanted = new Set(papers.filter(function (p) { return !theme.value || p.theme === theme.value; })
        .map(function (p) { return p.subtopic; }));
      while (sub.options.length > 1) sub.remove(1);
      allSubs.forEach(function (s) {
        if (wanted.has(s)) sub.add(new Option(s, s));
      });
      sub.value = wanted.has(keep) ? keep : "";
    }

    function matches(p, terms) {
      return terms.every(function (t) { return p.text.indexOf(t) !== -1; }) &&
        (!theme.value || p.theme === theme.value) &&
        (!sub.value || p.subtopic === sub.value) &&
        (!demo.checked || p.demo) &&
        (!kind.value || p.adjacent === (kind.value === "adjacent"));
    }

    function apply() {
      var terms = q.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      items.forEach(function (it) {
        var ok = matches(it.paper, terms);
        it.li.hidden = !ok;
        if (ok) shown += 1;
      });
      var filtering = terms.length || theme.value || sub.value || demo.checked || kind.value;
      lists.forEach(function (ul) {
        var visible = ul.querySelectorAll("li:not([hidden])").length;
        ul.hidden = visible === 0;
        // the paragraph just before a list names its sub-topic and count: "**topic** (n)"
        var label = ul.previousElementSibling;
        if (label && label.tagName === "P") {
          label.hidden = visible === 0;
          var strong = label.querySelector("strong");
          var total = ul.querySelectorAll("li").length;
          if (strong && strong.nextSibling && strong.nextSibling.nodeType === 3) {
            strong.nextSibling.textContent = filtering ? " (" + visible + " of " + total + ")" : " (" + total + ")";
          }
        }
      });
      sections.forEach(function (s) {
        s.hidden = !s.querySelector("li:not([hidden]) a[href*='#paper-']");
      });
      count.dataset.count = String(shown);
      count.textContent = filtering
        ? (shown === 1 ? "1 paper matches" : shown + " papers match") + " (of " + papers.length + ")."
        : "All " + papers.length + " papers are shown.";
    }

    q.addEventListener("input", apply);
    [sub, kind, demo].forEach(function (el) { el.addEventListener("change", apply); });
    theme.addEventListener("change", function () { fillSubtopics(); apply(); });
    form.addEventListener("reset", function () { setTimeout(function () { fillSubtopics(); apply(); }, 0); });
    form.hidden = false;
    fillSubtopics();
    apply();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
