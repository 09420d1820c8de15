// The tests' fake engine: exact substring search (the ground truth's own rule) over
// fake-index.json ({item path: text}), in file order.
const docs = await (await fetch('fake-index.json')).json();
const terms = q => [...q.matchAll(/"([^"]+)"|([^\s"]+)/g)].map(m => m[1] || m[2]);
const engine = {
  async search(q) {
    const t = terms(q);
    const hits = Object.keys(docs).filter(k => t.length && t.every(w => docs[k].includes(w)));
    return {
      total: hits.length,
      async page(start, n) {
        return hits.slice(start, start + n).map(k => ({ url: k, title: docs[k].split('\n')[0], excerpt: '' }));
      },
    };
  },
};
