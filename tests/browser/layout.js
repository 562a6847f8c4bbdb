// The layout of one page as a reader at 1360 px sees it, for tests/test_browser.py.
// Returns the page height in pixels, every block wider than the content column (with every <details> open, so
// folded content is held to the same rule) and every word broken inside a table cell: a run of letters and
// digits whose characters sit on two lines. Identifiers may wrap at their separators (/ _ . - |): the site puts
// <wbr> there; a regex pattern (code.imgspec-pattern) and code blocks (pre, which wrap) are not words.
() => {
  const article = document.querySelector('article') || document.body;
  const column = article.getBoundingClientRect();
  const out = {wide: [], broken: []};
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  for (const el of article.querySelectorAll('pre, table, img, svg, .table-wrapper, p, dl, ul, ol, div.highlight')) {
    const r = el.getBoundingClientRect();
    if (el.scrollWidth > el.clientWidth + 1 || r.right > column.right + 8) {
      out.wide.push(`${el.tagName.toLowerCase()} ${Math.max(el.scrollWidth, Math.round(r.right - column.left))}px: `
                    + (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 70));
    }
  }
  for (const cell of article.querySelectorAll('td, th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      if (node.parentElement.closest('code.imgspec-pattern, pre')) continue;
      const words = /[\p{L}\p{N}]+/gu;
      let m;
      while ((m = words.exec(node.data))) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (lines.size > 1) out.broken.push(m[0]);
      }
    }
  }
  document.querySelectorAll('details').forEach(d => { d.open = false; });
  out.height = document.documentElement.scrollHeight;
  return out;
}
