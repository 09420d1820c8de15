/* 适老化 choices saved by tools.js (字号, 长者模式, 高对比), applied from <head> before the
   stylesheet paints the page, so a reload never flashes the default size. Kept tiny:
   it blocks rendering for the time it runs. */
(function (d) {
  d.className += " js";
  try {
    var s = window.localStorage, f = s.getItem("gk-font");
    if (f === "s" || f === "l") d.setAttribute("data-font", f);
    if (s.getItem("gk-elder") === "1") d.setAttribute("data-elder", "1");
    if (s.getItem("gk-contrast") === "1") d.setAttribute("data-contrast", "high");
  } catch (e) { /* storage disabled: the defaults stay */ }
})(document.documentElement);
