/* gongkai page tools: 字号 大/中/小, 长者模式, 高对比, 简繁, 朗读, 打印.
   No external service: choices live in localStorage, the 简繁 map (zhmap.json, generated
   at build time from OpenCC) is fetched from this site on the first switch, read-aloud
   uses the browser's own speechSynthesis. The choices are applied before the first
   paint by the inline script in <head> (templates/tools.html); this file wires the
   buttons and keeps their state in step. */
(function () {
  "use strict";
  var root = document.documentElement;
  var here = document.currentScript ? document.currentScript.src : "";
  var store = {
    get: function (k) { try { return window.localStorage.getItem(k); } catch (e) { return null; } },
    set: function (k, v) {
      try { if (v === null) window.localStorage.removeItem(k); else window.localStorage.setItem(k, v); } catch (e) { /* private mode */ }
    }
  };

  function buttons(sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); }
  function press(btn, on) { btn.setAttribute("aria-pressed", on ? "true" : "false"); }

  /* 字号 */
  function setFont(size, save) {
    if (size === "s" || size === "l") root.setAttribute("data-font", size); else root.removeAttribute("data-font");
    buttons("button[data-font]").forEach(function (b) {
      press(b, b.getAttribute("data-font") === (size === "s" || size === "l" ? size : "m"));
    });
    if (save) store.set("gk-font", size === "s" || size === "l" ? size : null);
  }

  /* 长者模式 / 高对比 */
  var TOGGLES = {
    elder: { key: "gk-elder", attr: "data-elder", value: "1" },
    contrast: { key: "gk-contrast", attr: "data-contrast", value: "high" }
  };
  function setToggle(name, on, save) {
    var t = TOGGLES[name];
    if (on) root.setAttribute(t.attr, t.value); else root.removeAttribute(t.attr);
    buttons('[data-toggle="' + name + '"]').forEach(function (b) { press(b, on); });
    if (save) store.set(t.key, on ? "1" : null);
  }

  /* 简繁: every text node of the page through the char map; switching back restores the original. */
  var zhMap = null, originals = null, zhState = "hans";
  function loadMap() {
    if (zhMap) return Promise.resolve(zhMap);
    var url = new URL("zhmap.json", here || window.location.href).href;
    return fetch(url).then(function (r) {
      if (!r.ok) throw new Error("zhmap.json " + r.status);
      return r.json();
    }).then(function (data) { zhMap = data; return data; });
  }
  function textNodes() {
    var out = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
      acceptNode: function (n) {
        var p = n.parentNode && n.parentNode.nodeName;
        return (p === "SCRIPT" || p === "STYLE" || !/\S/.test(n.nodeValue)) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
      }
    });
    while (walker.nextNode()) out.push(walker.currentNode);
    return out;
  }
  function convert(text, table) {
    var out = "";
    for (var i = 0; i < text.length; i++) { var c = text.charAt(i); out += table[c] || c; }
    return out;
  }
  function setZh(target, save) {
    var btns = buttons('[data-action="zh"]');
    var apply = function () {
      if (target === "hant") {
        originals = originals || { title: document.title, nodes: [] };
        textNodes().forEach(function (n) {
          var t = convert(n.nodeValue, zhMap.s2t);
          if (t !== n.nodeValue) { originals.nodes.push([n, n.nodeValue]); n.nodeValue = t; }
        });
        document.title = convert(originals.title, zhMap.s2t);
        root.setAttribute("lang", "zh-Hant");
      } else if (originals) {
        originals.nodes.forEach(function (pair) { pair[0].nodeValue = pair[1]; });
        document.title = originals.title;
        originals = null;
        root.setAttribute("lang", "zh-CN");
      }
      zhState = target;
      btns.forEach(function (b) {
        press(b, target === "hant");
        b.textContent = target === "hant" ? "简体" : "繁體";
        b.setAttribute("lang", target === "hant" ? "zh-CN" : "zh-Hant");
      });
      if (save) store.set("gk-zh", target === "hant" ? "hant" : null);
    };
    if (target === "hant") {
      return loadMap().then(apply, function () {
        btns.forEach(function (b) { b.disabled = true; b.title = "繁体字对照表未能载入"; });
      });
    }
    apply();
    return Promise.resolve();
  }

  /* 朗读: article text in short utterances (long ones are cut off by some engines). */
  var speaking = false;
  function speakable() { return !!window.speechSynthesis && typeof window.SpeechSynthesisUtterance === "function"; }
  function chunks(text) {
    // sentences with their closing mark (no look-behind: older phone browsers lack it)
    var parts = text.replace(/\s+/g, " ").match(/[^。！？；]+[。！？；]?/g) || [], out = [], cur = "";
    parts.forEach(function (p) {
      if ((cur + p).length > 180 && cur) { out.push(cur); cur = ""; }
      cur += p;
      while (cur.length > 180) { out.push(cur.slice(0, 180)); cur = cur.slice(180); }
    });
    if (cur.trim()) out.push(cur);
    return out;
  }
  function articleText() {
    var parts = [];
    [".item-title", ".status-banner", ".withdrawn", ".item-body", ".fiscal", ".qa"].forEach(function (sel) {
      var el = document.querySelector("main " + sel);
      if (el) parts.push(el.innerText);
    });
    return parts.join("\n");
  }
  function setSpeaking(on) {
    speaking = on;
    buttons('[data-action="speak"]').forEach(function (b) {
      press(b, on);
      b.textContent = on ? "停止朗读" : "朗读全文";
    });
  }
  function toggleSpeak() {
    var synth = window.speechSynthesis;
    if (speaking) { synth.cancel(); setSpeaking(false); return; }
    synth.cancel();
    var list = chunks(articleText());
    if (!list.length) return;
    setSpeaking(true);
    list.forEach(function (text, i) {
      var u = new window.SpeechSynthesisUtterance(text);
      u.lang = "zh-CN";
      if (i === list.length - 1) u.onend = function () { setSpeaking(false); };
      u.onerror = function () { setSpeaking(false); };
      synth.speak(u);
    });
  }

  function init() {
    setFont(store.get("gk-font"), false);
    setToggle("elder", store.get("gk-elder") === "1", false);
    setToggle("contrast", store.get("gk-contrast") === "1", false);
    buttons("button[data-font]").forEach(function (b) {
      b.addEventListener("click", function () { setFont(b.getAttribute("data-font"), true); });
    });
    buttons("button[data-toggle]").forEach(function (b) {
      b.addEventListener("click", function () {
        var name = b.getAttribute("data-toggle");
        setToggle(name, b.getAttribute("aria-pressed") !== "true", true);
      });
    });
    buttons('[data-action="zh"]').forEach(function (b) {
      b.addEventListener("click", function () { setZh(zhState === "hant" ? "hans" : "hant", true); });
    });
    buttons('[data-action="print"]').forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    buttons('[data-action="speak"]').forEach(function (b) {
      if (!speakable()) return;          // stays hidden where the browser cannot speak
      b.hidden = false;
      b.addEventListener("click", toggleSpeak);
    });
    if (speakable()) window.addEventListener("pagehide", function () { window.speechSynthesis.cancel(); });
    if (store.get("gk-zh") === "hant") setZh("hant", false);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
