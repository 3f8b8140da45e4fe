/// /proc/allocinfo's text (lib/alloc_tag.c, lib/codetag.c): a two-line header, then per tag
/// `%12lli %8llu ` and `file:line [module] func:name`, each line ending in " \n".
public enum AllocInfoText {
    public static func header(_ version: AllocInfo.FormatVersion) -> String {
        "allocinfo - version: \(version.rawValue)\n#     <size>  <calls> <tag info>\n"
    }

    /// One tag's line. `human` writes the size like `numfmt --to=iec` in the same 12 columns.
    public static func line(_ tag: AllocTag, version: AllocInfo.FormatVersion, human: Bool = false) -> String {
        let size = human ? IECSize.format(tag.bytes) : String(tag.bytes)
        var s = pad(size, 12) + " " + pad(String(tag.calls), 8) + " " + tagInfo(tag)
        if version == .v2, tag.flags & 1 != 0 { s += " accurate:no" }
        return s + " \n"
    }

    /// `file:line func:name`, or `file:line [module] func:name` for a module's tag.
    public static func tagInfo(_ tag: AllocTag) -> String {
        if let module = tag.module { return "\(tag.filename):\(tag.line) [\(module)] func:\(tag.function)" }
        return "\(tag.filename):\(tag.line) func:\(tag.function)"
    }

    public static func text(_ tags: [AllocTag], version: AllocInfo.FormatVersion, human: Bool = false) -> String {
        var out = header(version)
        for tag in tags { out += line(tag, version: version, human: human) }
        return out
    }

    /// Right-aligns like printf's `%Ns` (longer text is not cut).
    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }
}

public enum AllocTagOrder: String, Sendable, CaseIterable {
    case bytes, calls
}

extension AllocInfo {
    /// Tags largest first by `order`; ties keep the kernel's order. `top` keeps the first N.
    public func ranked(by order: AllocTagOrder?, top: Int?) -> [AllocTag] {
        var list = tags
        if let order {
            let keyed = list.enumerated().map { (offset: $0.offset, tag: $0.element) }
            list = keyed.sorted { a, b in
                switch order {
                case .bytes where a.tag.bytes != b.tag.bytes: return a.tag.bytes > b.tag.bytes
                case .calls where a.tag.calls != b.tag.calls: return a.tag.calls > b.tag.calls
                default: return a.offset < b.offset
                }
            }.map(\.tag)
        }
        if let top { list = Array(list.prefix(max(top, 0))) }
        return list
    }
}

/// Sizes the way `numfmt --to=iec` writes them (the kernel documentation's allocinfo
/// example): plain below 1024, else one decimal below 10 of a unit and none above, rounding
/// away from zero, with K, M, G, T, P, E.
public enum IECSize {
    public static func format(_ value: Int64) -> String {
        let magnitude = value.magnitude
        let sign = value < 0 ? "-" : ""
        guard magnitude >= 1024 else { return sign + String(magnitude) }
        let units = ["K", "M", "G", "T", "P", "E"]
        var unit = 0
        var scaled = Double(magnitude) / 1024
        while scaled >= 1024, unit < units.count - 1 {
            scaled /= 1024
            unit += 1
        }
        if scaled < 10 {
            let tenths = (scaled * 10).rounded(.up)
            if tenths < 100 { return sign + String(Int(tenths) / 10) + "." + String(Int(tenths) % 10) + units[unit] }
            scaled = 10
        }
        let whole = scaled.rounded(.up)
        if whole >= 1024, unit < units.count - 1 { return sign + "1.0" + units[unit + 1] }
        return sign + String(Int(whole)) + units[unit]
    }
}
