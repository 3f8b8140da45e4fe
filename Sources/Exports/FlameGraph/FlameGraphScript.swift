/// The inline style and script of a flame graph SVG. Plain JavaScript, no library, nothing
/// fetched. Every frame is a `<g class="frame">` whose data-x/data-v/data-d attributes hold
/// its offset and width in pages and its depth; zooming and search only read those.
enum FlameGraphScript {
    static let style = """
    text { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; }
    #title { font-size: 17px; text-anchor: middle; }
    #subtitle { fill: #555; text-anchor: middle; }
    #matched { text-anchor: end; }
    .button { cursor: pointer; fill: #1a4c9e; text-decoration: underline; }
    .hidden { display: none; }
    .frame { cursor: pointer; }
    .frame text { pointer-events: none; }
    .frame:hover rect { stroke: #000; stroke-width: 0.8; }
    .frame.context rect { opacity: 0.45; }
    .frame.match rect { fill: rgb(225,0,225); }
    #search { width: 250px; font: 12px Verdana, sans-serif; }
    """

    static let script = """

    (function () {
      var root = document.currentScript ? document.currentScript.closest('svg') : document.documentElement;
      var total = +root.getAttribute('data-total') || 1;
      var margin = +root.getAttribute('data-margin');
      var width = +root.getAttribute('width') - 2 * margin;
      var frames = Array.prototype.slice.call(root.querySelectorAll('g.frame'));
      var details = root.querySelector('#details');
      var matched = root.querySelector('#matched');
      var unzoomButton = root.querySelector('#unzoom');
      var search = root.querySelector('#search');
      var charWidth = 7;
      function nameOf(g) { return g.querySelector('title').textContent.split('\\n')[0]; }
      function tipOf(g) { return g.querySelector('title').textContent.replace('\\n', ': '); }
      function label(name, w) {
        var fit = Math.floor((w - 6) / charWidth);
        if (fit < 3) return '';
        return name.length <= fit ? name : name.slice(0, fit - 2) + '..';
      }
      function place(g, x, w) {
        var r = g.querySelector('rect'), t = g.querySelector('text');
        r.setAttribute('x', x.toFixed(2));
        r.setAttribute('width', Math.max(w, 0).toFixed(2));
        t.setAttribute('x', (x + 3).toFixed(2));
        t.textContent = label(nameOf(g), w);
      }
      function zoom(g) {
        var zx = +g.getAttribute('data-x'), zv = +g.getAttribute('data-v'), zd = +g.getAttribute('data-d');
        var scale = width / zv;
        frames.forEach(function (f) {
          var x = +f.getAttribute('data-x'), v = +f.getAttribute('data-v'), d = +f.getAttribute('data-d');
          if (d >= zd && x >= zx && x + v <= zx + zv) {
            f.classList.remove('hidden', 'context');
            place(f, margin + (x - zx) * scale, v * scale);
          } else if (d < zd && x <= zx && x + v >= zx + zv) {
            f.classList.remove('hidden');
            f.classList.add('context');
            place(f, margin, width);
          } else {
            f.classList.add('hidden');
          }
        });
        unzoomButton.classList.toggle('hidden', zd === 0);
        root.setAttribute('data-zoomed', zd === 0 ? '' : nameOf(g));
      }
      function unzoom() { zoom(frames[0]); }
      function find(text) {
        var re = null;
        if (text) {
          try { re = new RegExp(text); } catch (e) { re = new RegExp(text.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&')); }
        }
        var spans = [];
        frames.forEach(function (f) {
          var hit = re !== null && re.test(nameOf(f));
          f.classList.toggle('match', hit);
          if (hit) spans.push([+f.getAttribute('data-x'), +f.getAttribute('data-v')]);
        });
        // Pages under a match, each page counted once however many matching frames it sits under.
        spans.sort(function (a, b) { return a[0] - b[0]; });
        var pages = 0, end = -1;
        spans.forEach(function (s) {
          var from = Math.max(s[0], end), to = s[0] + s[1];
          if (to > from) { pages += to - from; end = to; }
        });
        matched.textContent = re === null ? ' ' : 'Matched: ' + pages + ' pages (' + (pages / total * 100).toFixed(1) + '%)';
        root.setAttribute('data-matched', re === null ? '' : String(pages));
        return pages;
      }
      frames.forEach(function (f) {
        f.addEventListener('click', function () { zoom(f); });
        f.addEventListener('mouseover', function () { details.textContent = tipOf(f); });
        f.addEventListener('mouseout', function () { details.textContent = ' '; });
      });
      unzoomButton.addEventListener('click', unzoom);
      if (search) search.addEventListener('input', function () { find(search.value); });
      root.flameGraph = { zoom: zoom, unzoom: unzoom, search: find };
    })();

    """
}
