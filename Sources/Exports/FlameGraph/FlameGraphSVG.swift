/// A flame graph as one self-contained SVG: frame width = pages, root at the bottom, hover
/// for pages/MiB/percent, click to zoom, a search box that highlights matching frames. The
/// script and style are inline (FlameGraphScript); nothing is fetched. Labels and widths are
/// also written statically, so the picture reads in viewers that run no script.
public struct FlameGraphSVG {
    public var title: String
    public var pageSize: Int64

    static let width = 1200.0
    static let margin = 10.0
    static let frameHeight = 16.0
    static let top = 44.0
    static let bottom = 34.0
    /// Approximate width of one 12px Verdana character, for label cutting (the script uses
    /// the same rule).
    static let charWidth = 7.0

    public init(title: String, pageSize: Int64) {
        self.title = title
        self.pageSize = pageSize
    }

    /// The flame graph of `samples` (pages per stack).
    public func render(_ samples: [StackSample]) -> String {
        var tree = FlameTree(rootName: "all")
        for s in samples { tree.add(s.rootFirst, value: s.pages) }
        let total = max(tree.nodes[0].value, 0)
        return document(tree, subtitle: "\(total) pages, \(Units.oneDecimal(Units.mib(total, pageSize: pageSize))) MiB") { node in
            let percent = total > 0 ? Double(node.value) / Double(total) * 100 : 0
            let tip = "\(node.value) pages, \(Units.oneDecimal(Units.mib(node.value, pageSize: pageSize))) MiB, \(Units.oneDecimal(percent))%"
            return (tip, Palette.warm(node.name), "")
        }
    }

    /// A differential flame graph: width = the larger of before and after per stack, red
    /// where pages grew, blue where they shrank, the deeper the colour the larger the change.
    public func renderDiff(_ diff: StackDiff) -> String {
        var tree = FlameTree(rootName: "all")
        for row in diff.rows {
            tree.add(StackSample(frames: row.frames, pages: 0).rootFirst, value: max(row.before, row.after),
                     before: row.before, after: row.after)
        }
        let largest = tree.nodes.map { abs($0.after &- $0.before) }.max() ?? 0
        let delta = diff.totalAfter &- diff.totalBefore
        let subtitle = "before \(diff.totalBefore) pages, after \(diff.totalAfter) pages, \(Units.signed(delta)) (\(Units.oneDecimal(Units.mib(delta, pageSize: pageSize))) MiB)"
        return document(tree, subtitle: subtitle) { node in
            let change = node.after &- node.before
            let percent = node.before > 0 ? Units.oneDecimal(Double(change) / Double(node.before) * 100) + "%" : "new"
            let tip = "before \(node.before), after \(node.after) pages, \(Units.signed(change)) (\(percent)), \(Units.oneDecimal(Units.mib(change, pageSize: pageSize))) MiB"
            return (tip, Palette.change(change, largest: largest), " data-b=\"\(node.before)\" data-a=\"\(node.after)\"")
        }
    }

    /// The SVG around the frames; `describe` gives a node's tooltip line, fill and extra attributes.
    private func document(_ tree: FlameTree, subtitle: String,
                          describe: (FlameTree.Node) -> (tip: String, fill: String, extra: String)) -> String {
        let w = Self.width, m = Self.margin, fh = Self.frameHeight
        let height = Self.top + Double(tree.maxDepth + 1) * fh + Self.bottom
        let total = max(tree.nodes[0].value, 1)
        let scale = (w - 2 * m) / Double(total)
        var out = """
        <?xml version="1.0" encoding="UTF-8" standalone="no"?>
        <svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(height))" viewBox="0 0 \(Int(w)) \(Int(height))" data-total="\(tree.nodes[0].value)" data-margin="\(Int(m))">
        <style>\(FlameGraphScript.style)</style>
        <rect x="0" y="0" width="\(Int(w))" height="\(Int(height))" fill="#fbfbf7"/>
        <text id="title" x="\(Int(w / 2))" y="20">\(XML.escape(title))</text>
        <text id="subtitle" x="\(Int(w / 2))" y="36">\(XML.escape(subtitle))</text>
        <text id="unzoom" class="button hidden" x="\(Int(m))" y="24">Reset zoom</text>
        <foreignObject x="\(Int(w - m - 260))" y="8" width="260" height="26"><input xmlns="http://www.w3.org/1999/xhtml" id="search" type="search" placeholder="Search (regular expression)"/></foreignObject>
        <text id="details" x="\(Int(m))" y="\(Int(height - 12))"> </text>
        <text id="matched" x="\(Int(w - m))" y="\(Int(height - 12))"> </text>
        <g id="frames">

        """
        for (node, offset) in tree.laidOut() {
            let (tip, fill, extra) = describe(node)
            let x = m + Double(offset) * scale
            let width = Double(node.value) * scale
            let y = height - Self.bottom - Double(node.depth + 1) * fh
            out += "<g class=\"frame\" data-x=\"\(offset)\" data-v=\"\(node.value)\" data-d=\"\(node.depth)\"\(extra)>"
            out += "<title>\(XML.escape(node.name))\n\(XML.escape(tip))</title>"
            out += "<rect x=\"\(Self.coordinate(x))\" y=\"\(Self.coordinate(y))\" width=\"\(Self.coordinate(width))\" height=\"\(Self.coordinate(fh - 1))\" fill=\"\(fill)\" rx=\"2\"/>"
            out += "<text x=\"\(Self.coordinate(x + 3))\" y=\"\(Self.coordinate(y + 11.5))\">\(XML.escape(Self.label(node.name, width: width)))</text></g>\n"
        }
        out += "</g>\n<script><![CDATA[\(FlameGraphScript.script)]]></script>\n</svg>\n"
        return out
    }

    /// The label that fits `width` pixels: the whole name, or its start and "..", or nothing.
    static func label(_ name: String, width: Double) -> String {
        let fit = Int(((width - 6) / charWidth).rounded(.down))
        if fit < 3 { return "" }
        if name.count <= fit { return name }
        return String(name.prefix(fit - 2)) + ".."
    }

    static func coordinate(_ v: Double) -> String {
        let hundredths = (v * 100).rounded()
        guard hundredths.isFinite, abs(hundredths) < 1e15 else { return "0" }
        let n = Int64(hundredths)
        let whole = n / 100, frac = abs(n % 100)
        return frac == 0 ? "\(whole)" : "\(whole).\(frac < 10 ? "0" : "")\(frac)"
    }
}

/// Frame colours: a warm hue per function (so one function has one colour everywhere), and
/// red/blue shades for a diff.
enum Palette {
    static func warm(_ frame: String) -> String {
        // Colour by function name, without the +offset/size part.
        let name = frame.split(separator: "+", maxSplits: 1).first.map(String.init) ?? frame
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
        let a = Double(hash & 0xff) / 255, b = Double((hash >> 8) & 0xff) / 255, c = Double((hash >> 16) & 0xff) / 255
        return "rgb(\(205 + Int(50 * a)),\(Int(80 + 150 * b)),\(Int(55 * c)))"
    }

    static func change(_ delta: Int64, largest: Int64) -> String {
        guard delta != 0, largest > 0 else { return "rgb(230,230,230)" }
        let strength = min(1, Double(abs(delta)) / Double(largest))
        let light = 225 - Int(175 * strength.squareRoot())
        return delta > 0 ? "rgb(255,\(light),\(light))" : "rgb(\(light),\(light),255)"
    }
}

enum XML {
    static func escape(_ s: String) -> String {
        guard s.contains(where: { "&<>\"'".contains($0) || $0.asciiValue.map { $0 < 0x20 && $0 != 0x0a } == true }) else { return s }
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                if let a = ch.asciiValue, a < 0x20, a != 0x0a { out += "?" } else { out.append(ch) }
            }
        }
        return out
    }
}
