/* gongkai search: query time. The tokenizer below is the twin of
 * plugins/gongkai/search/tokenize.py; both pass tokenize_cases.json.
 * The index layout and the ranking are described in search/index.py.
 * No innerHTML: every piece of content reaches the page through textContent.
 */
(function (global) {
  'use strict';

  // ---------------------------------------------------------------- tokenizer
  var CJK = [[0x3007, 0x3007], [0x3400, 0x4DBF], [0x4E00, 0x9FFF], [0xF900, 0xFAFF], [0x20000, 0x323AF]];
  var JOINERS = '-/._〔〕[]()（）【】〈〉<>‐–—';
  var MAX_WORD = 32, MAX_QUERY = 200;

  function isCJK(cp) {
    for (var i = 0; i < CJK.length; i++) if (cp >= CJK[i][0] && cp <= CJK[i][1]) return true;
    return false;
  }

  function foldChar(ch, t2s) {
    var cp = ch.codePointAt(0);
    if (cp >= 0xFF21 && cp <= 0xFF3A) return String.fromCharCode(cp - 0xFEE0 + 32);
    if (cp >= 0xFF01 && cp <= 0xFF5E) return String.fromCharCode(cp - 0xFEE0);
    if (cp === 0x3000) return ' ';
    if (cp >= 65 && cp <= 90) return String.fromCharCode(cp + 32);
    if (t2s && Object.prototype.hasOwnProperty.call(t2s, ch)) return t2s[ch];
    return ch;
  }

  function fold(text, t2s) {
    var out = '';
    for (var ch of text) out += foldChar(ch, t2s);
    return out;
  }

  function isWordChar(ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z');
  }

  /* Runs of units: [[unit, joinedBefore], ...]. */
  function runs(s) {
    var out = [], cur = null, joined = false, word = '';
    function push(unit) {
      if (!cur) { cur = []; joined = false; }
      cur.push([unit, joined]);
      joined = false;
    }
    function flush() {
      if (word) { push(Array.from(word).slice(0, MAX_WORD).join('')); word = ''; }
    }
    function end() {
      if (cur) out.push(cur);
      cur = null; joined = false;
    }
    for (var ch of s) {
      if (isWordChar(ch)) { word += ch; continue; }
      flush();
      if (isCJK(ch.codePointAt(0))) push(ch);
      else if (JOINERS.indexOf(ch) >= 0) { if (cur) joined = true; }
      else end();
    }
    flush(); end();
    return out;
  }

  function pair(a, b) { return a[0] + (b[1] ? '_' : '') + b[0]; }

  /* Index terms of two neighbouring units; a number touching CJK pairs its tails too. */
  function pairs(a, b) {
    var out = [pair(a, b)];
    if (!b[1] && /^[0-9]+$/.test(a[0]) && b[0].codePointAt(0) > 0x7f) {
      for (var i = 1; i < a[0].length; i++) out.push(a[0].slice(i) + b[0]);
    }
    return out;
  }

  function indexTerms(folded) {
    var out = [];
    runs(folded).forEach(function (units) {
      for (var i = 0; i < units.length; i++) {
        out.push(units[i][0]);
        if (i + 1 < units.length) out.push.apply(out, pairs(units[i], units[i + 1]));
      }
    });
    return out;
  }

  function queryTerms(folded) {
    var out = [];
    runs(Array.from(folded).slice(0, MAX_QUERY).join('')).forEach(function (units) {
      var terms = [];
      if (units.length === 1) terms.push(units[0][0]);
      else for (var i = 0; i + 1 < units.length; i++) terms.push(pair(units[i], units[i + 1]));
      terms.forEach(function (t) { if (out.indexOf(t) < 0) out.push(t); });
    });
    return out;
  }

  function normalize(folded) {
    return runs(folded).map(function (units) {
      return units.map(function (u) { return (u[1] ? '_' : '') + u[0]; }).join('');
    }).join(' ');
  }

  // ------------------------------------------------------------------- index
  function fnv1a(term) {
    var bytes = new TextEncoder().encode(term), h = 0x811C9DC5;
    for (var i = 0; i < bytes.length; i++) {
      h ^= bytes[i];
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h >>> 0;
  }

  function decodeSet(runsList) {           // [gap, length, ...] -> Set of ids
    var out = new Set(), at = 0;
    for (var i = 0; i < runsList.length; i += 2) {
      at += runsList[i];
      for (var k = 0; k < runsList[i + 1]; k++) out.add(at + k);
      at += runsList[i + 1];
    }
    return out;
  }

  /* One unit's index, seen from a search page at `root` (its URL, ending with '/', or ''):
   * the unit's own page (no `unit`), or the portal's (`unit` is the unit's folder). */
  function Engine(root, unit) {
    this.unit = unit || '';
    this.prefix = unit ? unit + '/' : '';
    this.root = (root || '') + this.prefix;
    this.files = {};
  }

  Engine.prototype.json = function (path, fresh) {
    var self = this;
    if (!this.files[path]) {
      var url = this.root + path + (this.hash && !fresh ? '?h=' + this.hash : '');
      this.files[path] = fetch(url, fresh ? {cache: 'no-cache'} : {}).then(function (r) {
        if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
        return r.json();
      });
      this.files[path].catch(function () { delete self.files[path]; });
    }
    return this.files[path];
  };

  Engine.prototype.manifest = function () {
    var self = this;
    return this.json('search/index.json', true).then(function (m) { self.hash = m.h; self.m = m; return m; });
  };

  Engine.prototype.postings = function (m, term) {
    return this.json('search/t/' + (fnv1a(term) % m.s) + '.json').then(function (shard) {
      return Object.prototype.hasOwnProperty.call(shard, term) ? shard[term] : null;
    });
  };

  Engine.prototype.doc = function (id) {
    var self = this;
    return this.manifest().then(function (m) {
      return self.json('search/d/' + Math.floor(id / m.d) + '.json');
    }).then(function (list) {
      var rec = list[id % self.m.d];
      return {u: self.prefix + rec.u, t: rec.t, d: rec.d, s: rec.s, x: rec.x || '', n: rec.n, i: rec.i, a: rec.a};
    });
  };

  /* Parse a query: its terms (all required) and its quoted phrases. */
  function parse(q, t2s) {
    var phrases = [], re = /["“”「」『』]([^"“”「」『』]+)["“”「」『』]/g, m;
    while ((m = re.exec(q)) !== null) {
      var p = normalize(fold(m[1], t2s));
      if (p && phrases.indexOf(p) < 0) phrases.push(p);
    }
    return {terms: queryTerms(fold(q, t2s)), phrases: phrases};
  }

  /* Rank this site's documents that have every query term. Returns {m, hits, missing}, hits
   * [{id, score, title}] sorted: current before retired, more query terms in the title first,
   * lunr's score, then id (= newest first). With opts.raw the state demotion is left out. */
  Engine.prototype.rank = function (parsed, opts) {
    var self = this;
    opts = opts || {};
    return this.manifest().then(function (m) {
      if (!parsed.terms.length) return {m: m, hits: [], missing: false};
      return Promise.all(parsed.terms.map(function (t) { return self.postings(m, t); })).then(function (lists) {
        if (lists.some(function (l) { return l === null; })) return {m: m, hits: [], missing: true};
        var n = m.n, score = new Float64Array(n), count = new Uint16Array(n), title = new Uint16Array(n);
        var seen = new Int32Array(n).fill(-1);
        lists.forEach(function (fields, ti) {
          Object.keys(fields).forEach(function (code) {
            var flat = fields[code], id = 0;
            for (var i = 0; i < flat.length; i += 2) {
              id += flat[i];
              score[id] += flat[i + 1];
              if (seen[id] !== ti) { seen[id] = ti; count[id]++; }
              if (code === 't') title[id]++;
            }
          });
        });
        var need = parsed.terms.length, hits = [], norm = 1000 * Math.sqrt(need);
        for (var id = 0; id < n; id++) {
          if (count[id] === need) {
            hits.push({id: id, score: score[id] / norm, title: title[id], retired: id >= m.r, engine: self});
          }
        }
        hits.sort(function (a, b) { return order(a, b, opts.raw); });
        return {m: m, hits: hits, missing: false};
      });
    });
  };

  function order(a, b, raw) {
    if (!raw && a.retired !== b.retired) return a.retired ? 1 : -1;
    return (b.title - a.title) || (b.score - a.score) || ((a.engine.rank_ || 0) - (b.engine.rank_ || 0)) || (a.id - b.id);
  }

  Engine.prototype.filter = function (hits, filters) {
    var keys = Object.keys(filters).filter(function (k) { return filters[k] && k !== 'm'; });
    if (!keys.length || !hits.length) return Promise.resolve(hits);
    return this.json('search/facets.json').then(function (facets) {
      var sets = keys.map(function (k) { return decodeSet((facets[k] || {})[filters[k]] || []); });
      return hits.filter(function (h) { return sets.every(function (s) { return s.has(h.id); }); });
    });
  };

  /* One query over one site or, on the portal, over the units' own indexes (only the
   * selected ones): each unit's term shards answer for its documents. */
  function Searcher(root, units, theme) {
    var engines = units && units.length ? units.map(function (u) { return new Engine(root, u); }) : [new Engine(root)];
    this.root = root || '';
    this.theme = theme || this.root + 'theme/';
    this.engines = engines;
    this.t2s = null;
    engines.forEach(function (e, k) { e.rank_ = k; });
  }

  Searcher.prototype.loadMap = function () {
    var self = this;
    if (!this.map) {
      this.map = fetch(this.theme + 'js/zhmap.json').then(function (r) {
        if (!r.ok) throw new Error('zhmap.json: HTTP ' + r.status);
        return r.json();
      });
    }
    return this.map.then(function (m) { self.t2s = m.t2s; return m.t2s; });
  };

  Searcher.prototype.rank = function (q, filters, opts) {
    var self = this, parsed = parse(q, this.t2s);
    var engines = this.engines.filter(function (e) { return !filters.m || !e.unit || e.unit === filters.m; });
    return Promise.all(engines.map(function (e) {
      return e.rank(parsed, opts).then(function (r) { return e.filter(r.hits, filters); });
    })).then(function (lists) {
      var hits = [].concat.apply([], lists);
      if (!hits.length && !self.t2s && /[^\x00-\x7f]/.test(q)) {
        // Traditional characters never reach an index (it is folded): fold the query and retry.
        return self.loadMap().then(function (t2s) {
          if (fold(q, t2s) === fold(q, null)) return {parsed: parsed, hits: []};
          return self.rank(q, filters, opts);
        });
      }
      if (lists.length > 1) hits.sort(function (a, b) { return order(a, b, opts && opts.raw); });
      return {parsed: parsed, hits: hits};
    });
  };

  /* Keep hits whose text holds every phrase; checks in rank order until `want`
   * are confirmed (or all are checked). Returns {hits, exact}. */
  Searcher.prototype.verify = function (hits, phrases, want) {
    var self = this;
    if (!phrases.length) return Promise.resolve({hits: hits, exact: true});
    var kept = [], i = 0, batch = 20;
    function holds(rec) {
      var text = normalize(fold(rec.t + '\n' + rec.x, self.t2s));
      return phrases.every(function (p) { return text.indexOf(p) >= 0; });
    }
    function step() {
      if (i >= hits.length || kept.length >= want) {
        return {hits: kept.concat(hits.slice(i)), exact: i >= hits.length};
      }
      var chunk = hits.slice(i, i + batch);
      i += batch;
      return Promise.all(chunk.map(function (h) { return h.engine.doc(h.id); })).then(function (recs) {
        recs.forEach(function (rec, k) { if (holds(rec)) kept.push(chunk[k]); });
        return step();
      });
    }
    return step();
  };

  /* The full query: ranked, filtered, phrase-checked; the page's documents. */
  Searcher.prototype.search = function (q, filters, page, perPage) {
    var self = this;
    filters = filters || {};
    return this.rank(q, filters).then(function (r) {
      return self.verify(r.hits, r.parsed.phrases, (page + 1) * perPage + 1).then(function (v) {
        var pageHits = v.hits.slice(page * perPage, (page + 1) * perPage);
        return Promise.all(pageHits.map(function (h) { return h.engine.doc(h.id); })).then(function (docs) {
          return {total: v.hits.length, exact: v.exact, docs: docs, parsed: r.parsed};
        });
      });
    });
  };

  // ----------------------------------------------------------------- snippet
  /* Intervals [start, end) of code points in `chars` matching the query terms. */
  function marks(chars, terms, t2s) {
    var folded = chars.map(function (c) { return foldChar(c, t2s); });
    var out = [];
    terms.forEach(function (term) {
      term.split('_').forEach(function (part) {
        var p = Array.from(part);
        if (!p.length) return;
        for (var i = 0; i + p.length <= folded.length; i++) {
          var ok = true;
          for (var k = 0; k < p.length && ok; k++) ok = folded[i + k] === p[k];
          if (ok) out.push([i, i + p.length]);
        }
      });
    });
    out.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    var merged = [];
    out.forEach(function (iv) {
      var last = merged[merged.length - 1];
      if (last && iv[0] <= last[1]) last[1] = Math.max(last[1], iv[1]);
      else merged.push(iv.slice());
    });
    return merged;
  }

  /* Append text to `el`, with the query terms in <mark>; a window of `width` characters
   * around the first match when `width` is given. */
  function highlight(el, text, terms, t2s, width) {
    var chars = Array.from(text || '');
    var ivs = marks(chars, terms, t2s), start = 0, end = chars.length;
    if (width && chars.length > width) {
      start = ivs.length ? Math.max(0, ivs[0][0] - Math.floor(width / 4)) : 0;
      end = Math.min(chars.length, start + width);
      if (start > 0) el.appendChild(document.createTextNode('…'));
    }
    var at = start;
    ivs.forEach(function (iv) {
      if (iv[1] <= start || iv[0] >= end) return;
      var a = Math.max(iv[0], start), b = Math.min(iv[1], end);
      if (a > at) el.appendChild(document.createTextNode(chars.slice(at, a).join('')));
      var mk = document.createElement('mark');
      mk.textContent = chars.slice(a, b).join('');
      el.appendChild(mk);
      at = b;
    });
    if (at < end) el.appendChild(document.createTextNode(chars.slice(at, end).join('')));
    if (end < chars.length) el.appendChild(document.createTextNode('…'));
  }

  // -------------------------------------------------------------------- page
  var PER_PAGE = 10;
  var FILTERS = ['c', 'y', 's', 'i', 'm'];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function Page(root) {
    this.root = root;
    this.form = root.querySelector('form[data-search-form]');
    this.list = root.querySelector('[data-search-results]');
    this.status = root.querySelector('[data-search-status]');
    this.help = root.querySelector('[data-search-help]');
    this.pager = root.querySelector('[data-search-pager]');
    this.engine = new Searcher(root.getAttribute('data-search-root') || '',
                               JSON.parse(root.getAttribute('data-search-units') || '[]'),
                               root.getAttribute('data-search-theme'));
    this.labels = JSON.parse(root.getAttribute('data-search-labels') || '{}');
    this.seq = 0;
  }

  Page.prototype.params = function () {
    var u = new URLSearchParams(location.search), f = {};
    FILTERS.forEach(function (k) { f[k] = u.get(k) || ''; });
    return {q: (u.get('q') || '').slice(0, 500), filters: f, page: Math.max(0, (parseInt(u.get('page'), 10) || 1) - 1)};
  };

  Page.prototype.url = function (q, filters, page) {
    var u = new URLSearchParams();
    u.set('q', q);
    FILTERS.forEach(function (k) { if (filters[k]) u.set(k, filters[k]); });
    if (page > 0) u.set('page', String(page + 1));
    return '?' + u.toString();
  };

  Page.prototype.fill = function (p) {
    var form = this.form;
    form.elements.q.value = p.q;
    FILTERS.forEach(function (k) { if (form.elements[k]) form.elements[k].value = p.filters[k]; });
  };

  Page.prototype.fromForm = function () {
    var form = this.form, f = {};
    FILTERS.forEach(function (k) { f[k] = form.elements[k] ? form.elements[k].value : ''; });
    return {q: form.elements.q.value.trim(), filters: f, page: 0};
  };

  Page.prototype.setState = function (state) {
    document.documentElement.setAttribute('data-search-state', state);
  };

  Page.prototype.run = function (p) {
    var self = this, seq = ++this.seq;
    this.setState('loading');
    this.root.setAttribute('aria-busy', 'true');
    if (!p.q) {
      this.clear();
      this.status.textContent = '请输入要查找的词语，例如：政务公开、三公经费、文号或索引号。';
      this.finish();
      return Promise.resolve();
    }
    this.status.textContent = '正在检索……';
    return this.engine.search(p.q, p.filters, p.page, PER_PAGE).then(function (r) {
      if (seq !== self.seq) return;
      self.show(p, r);
      self.finish();
    }).catch(function (err) {
      if (seq !== self.seq) return;
      self.clear();
      self.status.textContent = '检索出错，请稍后重试或按栏目浏览。（' + err.message + '）';
      self.finish();
    });
  };

  Page.prototype.finish = function () {
    this.root.removeAttribute('aria-busy');
    this.setState('done');
  };

  Page.prototype.clear = function () {
    this.list.textContent = '';
    this.pager.textContent = '';
    this.help.hidden = true;
  };

  Page.prototype.show = function (p, r) {
    var self = this, terms = r.parsed.terms, t2s = this.engine.t2s;
    this.clear();
    document.title = p.q + ' - ' + (this.root.getAttribute('data-search-title') || '搜索');
    if (!r.total) {
      this.status.textContent = '没有找到与“' + p.q + '”相关的信息。';
      this.help.hidden = false;
      return;
    }
    var pages = Math.ceil(r.total / PER_PAGE);
    this.status.textContent = '找到' + (r.exact ? '' : '约') + ' ' + r.total + ' 条结果' +
      (pages > 1 ? '，第 ' + (p.page + 1) + ' / ' + pages + ' 页' : '') + '。';
    r.docs.forEach(function (d) {
      var li = el('li', 'result state-' + d.s);
      var h = el('h2', 'result-title');
      var a = el('a');
      a.href = d.u;
      highlight(a, d.t, terms, t2s);
      h.appendChild(a);
      if (self.labels[d.s] && d.s !== 'current') h.appendChild(el('span', 'badge badge-' + d.s, self.labels[d.s]));
      li.appendChild(h);
      var meta = el('p', 'result-meta');
      [d.n ? '文号：' + d.n : '', d.d ? '发布日期：' + d.d : '', d.i ? '发布机构：' + d.i : '']
        .filter(Boolean).forEach(function (t) { meta.appendChild(el('span', null, t)); });
      li.appendChild(meta);
      if (d.x) {
        var snip = el('p', 'result-snippet');
        highlight(snip, d.x, terms, t2s, 120);
        li.appendChild(snip);
      }
      (d.a || []).forEach(function (qa) {
        if (!marks(Array.from(qa[0]), terms, t2s).length) return;
        var qp = el('p', 'result-question'), qa_ = el('a');
        qa_.href = d.u + '#' + qa[1];
        qp.appendChild(el('span', 'q-mark', '问'));
        highlight(qa_, qa[0], terms, t2s);
        qp.appendChild(qa_);
        li.appendChild(qp);
      });
      self.list.appendChild(li);
    });
    if (pages > 1) this.pagination(p, pages, r.exact);
  };

  Page.prototype.pagination = function (p, pages, exact) {
    var self = this, ul = el('ul');
    function link(label, page, rel, current) {
      var li = el('li');
      if (current) {
        var s = el('span', 'current', label);
        s.setAttribute('aria-current', 'page');
        li.appendChild(s);
      } else {
        var a = el('a', null, label);
        a.href = self.url(p.q, p.filters, page);
        if (rel) a.rel = rel;
        a.addEventListener('click', function (e) {
          e.preventDefault();
          history.pushState(null, '', a.href);
          self.run(self.params()).then(function () { self.list.focus(); });
        });
        li.appendChild(a);
      }
      ul.appendChild(li);
    }
    if (p.page > 0) link('上一页', p.page - 1, 'prev');
    var from = Math.max(0, p.page - 4), to = Math.min(pages, from + 9);
    for (var k = from; k < to; k++) link(String(k + 1), k, null, k === p.page);
    if (p.page + 1 < pages || !exact) link('下一页', p.page + 1, 'next');
    this.pager.appendChild(ul);
  };

  Page.prototype.start = function () {
    var self = this;
    this.form.addEventListener('submit', function (e) {
      e.preventDefault();
      var p = self.fromForm();
      history.pushState(null, '', self.url(p.q, p.filters, 0));
      self.run(p);
    });
    Array.prototype.forEach.call(this.form.querySelectorAll('select'), function (s) {
      s.addEventListener('change', function () { self.form.requestSubmit(); });
    });
    window.addEventListener('popstate', function () {
      var p = self.params();
      self.fill(p);
      self.run(p);
    });
    var p = this.params();
    this.fill(p);
    this.run(p);
  };

  global.GKSearch = {
    fold: fold, runs: runs, indexTerms: indexTerms, queryTerms: queryTerms, normalize: normalize,
    fnv1a: fnv1a, Engine: Engine, Searcher: Searcher, parse: parse
  };

  var root = document.querySelector('[data-search-page]');
  if (root) {
    root.hidden = false;
    new Page(root).start();
  }
})(window);
