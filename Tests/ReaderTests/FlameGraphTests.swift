import Foundation
import Testing

/// `stacks --format folded|svg`: folded stacks add up to the stacks report per stack, and the
/// flame graph drawn from them works in a real browser (headless Chromium).
@Suite struct FlameGraphTests {
    static let machines: [(seed: Int, memory: String)] = [(1, "64M"), (2, "256M")]

    /// Per stack, the folded pages equal the simulated kernel's show_stacks.
    @Test(arguments: machines)
    func foldedEqualsShowStacks(seed: Int, memory: String) throws {
        let dir = try SimulatedDumps.dump(seed: seed, memory: memory)
        let result = try Tools.vmowner("stacks", dir.file("vmlinux"), dir.file("vmcore"), "--format", "folded")
        #expect(result.status == 0, "\(result.stderr)")
        let expected = stackPages(showStacks: try String(contentsOf: dir.appendingPathComponent("expected/show_stacks.txt"), encoding: .utf8))
        let folded = stackPages(folded: result.text)
        #expect(expected.count > 50)
        // stackPages(folded:) turns the frames back innermost first: equal means root first.
        #expect(folded == expected, "\(Set(folded.keys).symmetricDifference(expected.keys).prefix(3))")
    }

    /// The flame graph in Chromium: rendered (pixels), one frame per distinct stack prefix,
    /// hover details, click to zoom, search.
    @Test func svgWorksInChromium() throws {
        let dir = try SimulatedDumps.dump(seed: 1, memory: "64M")
        let folded = try Tools.vmowner("stacks", dir.file("vmlinux"), dir.file("vmcore"), "--format", "folded")
        let svg = try Tools.vmowner("stacks", dir.file("vmlinux"), dir.file("vmcore"), "--format", "svg")
        #expect(svg.status == 0, "\(svg.stderr)")
        let stacks = stackPages(folded: folded.text)
        try checkInChromium(svg.text, stacks: stacks, search: "shmem_", name: "sim")
    }

    /// The real 6.12 kernel's dump: folded equals vmowner's stacks report, and the graph
    /// works in Chromium; its screenshot is the one in docs/.
    @Test func realKernelFlameGraph() throws {
        let dir = try RealKernelTests.folder("6.12")
        let files = [dir.file("vmlinux"), dir.file("vmcore.elf"), "--threshold", "0"]
        let text = try Tools.run("vmowner", ["stacks"] + files)
        let folded = try Tools.run("vmowner", ["stacks"] + files + ["--format", "folded"])
        #expect(text.status == 0 && folded.status == 0, "\(text.stderr) \(folded.stderr)")
        let stacks = stackPages(folded: folded.text)
        #expect(stacks.count > 10)
        #expect(stacks == stackPages(showStacks: text.text))
        let svg = try Tools.run("vmowner", ["stacks"] + files + ["--format", "svg"])
        #expect(svg.status == 0, "\(svg.stderr)")
        try checkInChromium(svg.text, stacks: stacks, search: "ext4|brd", name: "real-6.12")
    }

    func checkInChromium(_ svg: String, stacks: [[String]: Int64], search: String, name: String) throws {
        // One frame per distinct root-first prefix, plus the root.
        var prefixes = Set<[String]>()
        for frames in stacks.keys {
            let rootFirst = Array(frames.reversed())
            for n in 1...rootFirst.count { prefixes.insert(Array(rootFirst.prefix(n))) }
        }
        let expectedFrames = prefixes.count + 1
        #expect(svg.components(separatedBy: "<g class=\"frame\"").count - 1 == expectedFrames)
        #expect(!svg.contains("href=") && !svg.contains("src="), "the SVG must fetch nothing")

        let work = FileManager.default.temporaryDirectory.appendingPathComponent("vmowner-svg-\(name)-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let svgFile = work.appendingPathComponent("stacks.svg")
        try svg.write(to: svgFile, atomically: true, encoding: .utf8)

        // Pixels: the screenshot is not blank, flame colours cover much of it, and the root
        // frame spans the whole width.
        let height = svg.range(of: " height=\"").map { Int(svg[$0.upperBound...].prefix { $0.isNumber }) ?? 0 } ?? 0
        #expect(height > 100)
        let png = work.appendingPathComponent("stacks.png")
        _ = try ExportTools.chromium(["--screenshot=\(png.path)", "--window-size=1200,\(height)", svgFile.absoluteString])
        let pixels = try ExportTools.python("png_stats.py", [png.path, String(height - 34 - 8)])
        #expect(pixels["width"] as? Int == 1200)
        #expect((pixels["non_background"] as? Double ?? 0) > 0.2, "\(pixels)")
        #expect((pixels["flame"] as? Double ?? 0) > 0.1, "\(pixels)")
        #expect((pixels["row_flame"] as? Double ?? 0) > 0.95, "root frame row: \(pixels)")

        // The DOM: a page with the SVG inline clicks a frame, hovers, searches, and writes
        // what it saw into the page, which --dump-dom prints.
        let body = svg.replacingOccurrences(of: #"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#, with: "")
        let page = """
        <!DOCTYPE html><html><head><meta charset="utf-8"></head><body>\(body)<pre id="result">not run</pre>
        <script>
        (function () {
          var svg = document.querySelector('svg');
          var frames = Array.prototype.slice.call(svg.querySelectorAll('g.frame'));
          function w(g) { return parseFloat(g.querySelector('rect').getAttribute('width')); }
          function v(g) { return +g.getAttribute('data-v'); }
          var full = w(frames[0]);
          // The widest frame below the root that does not already fill the graph, and one of its children.
          var target = frames.filter(function (f) { return +f.getAttribute('data-d') >= 1 && w(f) < full * 0.9 && w(f) > 5; })
                             .sort(function (a, b) { return w(b) - w(a); })[0];
          var td = +target.getAttribute('data-d'), tx = +target.getAttribute('data-x');
          var child = frames.filter(function (f) { return +f.getAttribute('data-d') === td + 1 && +f.getAttribute('data-x') === tx; })[0];
          var r = { frames: frames.length, drawn: frames.filter(function (f) { return f.querySelector('rect').getBoundingClientRect().width > 0; }).length,
                    full: full, targetBefore: w(target), childBefore: child ? w(child) : null,
                    ratio: v(child || target) / v(target) };
          target.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
          r.details = svg.querySelector('#details').textContent;
          target.querySelector('rect').dispatchEvent(new MouseEvent('click', { bubbles: true }));
          r.targetAfter = w(target);
          r.childAfter = child ? w(child) : null;
          r.hidden = svg.querySelectorAll('g.frame.hidden').length;
          r.zoomed = svg.getAttribute('data-zoomed');
          r.targetName = target.querySelector('title').textContent.split('\\n')[0];
          svg.querySelector('#unzoom').dispatchEvent(new MouseEvent('click', { bubbles: true }));
          r.hiddenAfterReset = svg.querySelectorAll('g.frame.hidden').length;
          r.targetReset = w(target);
          var input = svg.querySelector('#search');
          input.value = \(Self.jsString(search));
          input.dispatchEvent(new Event('input'));
          r.matchedFrames = svg.querySelectorAll('g.frame.match').length;
          r.matchedPages = +svg.getAttribute('data-matched');
          r.matchedText = svg.querySelector('#matched').textContent;
          document.getElementById('result').textContent = JSON.stringify(r);
        })();
        </script></body></html>
        """
        let html = work.appendingPathComponent("test.html")
        try page.write(to: html, atomically: true, encoding: .utf8)
        let dom = try ExportTools.chromium(["--dump-dom", "--window-size=1200,\(height)", html.absoluteString])
        guard let start = dom.range(of: "<pre id=\"result\">"), let end = dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex) else {
            Issue.record("no result in the DOM: \(dom.suffix(500))")
            return
        }
        let json = dom[start.upperBound..<end.lowerBound].replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        let r = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "\(json)")
        #expect(r["frames"] as? Int == expectedFrames)
        #expect(r["drawn"] as? Int == expectedFrames, "every frame is laid out by the browser")
        let full = r["full"] as? Double ?? 0
        #expect(abs(full - 1180) < 0.1)
        #expect((r["targetBefore"] as? Double ?? full) < full * 0.9)
        #expect(abs((r["targetAfter"] as? Double ?? 0) - full) < 0.1, "the clicked frame fills the width: \(r)")
        if let before = r["childBefore"] as? Double, let after = r["childAfter"] as? Double, let ratio = r["ratio"] as? Double {
            #expect(after > before, "the clicked frame's child widens")
            #expect(abs(after - full * ratio) < 0.1, "\(r)")
        }
        #expect((r["hidden"] as? Int ?? 0) > 0, "frames outside the zoom are hidden")
        #expect(r["zoomed"] as? String == r["targetName"] as? String)
        #expect(r["hiddenAfterReset"] as? Int == 0)
        #expect(abs((r["targetReset"] as? Double ?? 0) - (r["targetBefore"] as? Double ?? -1)) < 0.1)
        let details = r["details"] as? String ?? ""
        #expect(details.contains(" pages, ") && details.contains(" MiB, ") && details.hasSuffix("%"), "\(details)")
        // Search: the pages under a matching frame, each stack once.
        let regex = try Regex(search)
        let expectedPages = stacks.filter { $0.key.contains { $0.contains(regex) } }.values.reduce(0, +)
        #expect(expectedPages > 0)
        #expect(r["matchedPages"] as? Int64 == expectedPages || (r["matchedPages"] as? Int).map(Int64.init) == expectedPages, "\(r)")
        #expect((r["matchedFrames"] as? Int ?? 0) > 0)
        #expect((r["matchedText"] as? String ?? "").hasPrefix("Matched: \(expectedPages) pages"))
        try? FileManager.default.removeItem(at: work)
    }

    static func jsString(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }
}
