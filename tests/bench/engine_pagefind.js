// Pagefind's JS API; results' data (URL, title, excerpt) fetched per page of results.
const pagefind = await import('./pagefind/pagefind.js');
await pagefind.options({ baseUrl: new URL('.', location.href).pathname });
const engine = {
  async search(q) {
    const res = await pagefind.search(q);
    const results = res ? res.results : [];
    return {
      total: results.length,
      async page(start, n) {
        const data = await Promise.all(results.slice(start, start + n).map(r => r.data()));
        return data.map(d => ({ url: d.url, title: (d.meta && d.meta.title) || '', excerpt: (d.excerpt || '').replace(/<[^>]*>/g, '') }));
      },
    };
  },
};
