#if canImport(Glibc)
import Glibc
#endif

/// The fields tools/mm/page_owner_sort reads out of a page_owner block, found the way its POSIX
/// extended regular expressions find them (glibc, C locale, REG_NEWLINE): the leftmost place in
/// the whole block where the pattern matches, the longest match there. `\s` is any of
/// space, \t, \n, \v, \f, \r (glibc lets it cross lines even under REG_NEWLINE); `.` is any byte
/// but \n. Each matcher is written out by hand for its one pattern, which is what makes sorting
/// a large text fast; the comments give the pattern each one stands for.
enum SortPatterns {
    typealias Bytes = UnsafeBufferPointer<UInt8>

    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0d) }
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// Index of the first byte at or after `from` that is not in the class.
    @inline(__always) static func skip(_ s: Bytes, _ from: Int, while test: (UInt8) -> Bool) -> Int {
        var i = from
        while i < s.count, test(s[i]) { i += 1 }
        return i
    }

    @inline(__always) static func hasLiteral(_ s: Bytes, _ at: Int, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard at >= 0, at + n <= s.count else { return false }
        let p = literal.utf8Start
        for k in 0..<n where s[at + k] != p[k] { return false }
        return true
    }

    /// Every position where `literal` starts, leftmost first, until `body` returns a match.
    @inline(__always) static func firstMatch(_ s: Bytes, _ literal: StaticString, _ body: (Int) -> Range<Int>?) -> Range<Int>? {
        var from = 0
        while let at = find(s, literal, from: from) {
            if let found = body(at) { return found }
            from = at + 1
        }
        return nil
    }

    /// `KEY\s*([0-9]*)TAIL` for `order…,` and `pid…,` (TAIL a comma): the digits' range.
    /// The digits must run up to the tail, so the match at a position is unique.
    static func digitsBeforeComma(_ s: Bytes, key: StaticString) -> Range<Int>? {
        firstMatch(s, key) { at in
            let digits = skip(s, at + key.utf8CodeUnitCount, while: isSpace)
            let end = skip(s, digits, while: isDigit)
            return end < s.count && s[end] == UInt8(ascii: ",") ? digits..<end : nil
        }
    }

    /// `order\s*([0-9]*),`
    static func order(_ s: Bytes) -> Range<Int>? { digitsBeforeComma(s, key: "order") }

    /// `pid\s*([0-9]*),`
    static func pid(_ s: Bytes) -> Range<Int>? { digitsBeforeComma(s, key: "pid") }

    /// `tgid\s*([0-9]*) `: the digits when a space follows them; otherwise, when the spaces
    /// after "tgid" hold a plain space, the pattern still matches there with no digits.
    static func tgid(_ s: Bytes) -> Range<Int>? {
        firstMatch(s, "tgid") { at in
            let spaces = at + 4
            let digits = skip(s, spaces, while: isSpace)
            let end = skip(s, digits, while: isDigit)
            if end > digits, end < s.count, s[end] == 0x20 { return digits..<end }
            for i in spaces..<digits where s[i] == 0x20 { return i..<i }
            return nil
        }
    }

    /// `ts\s*([0-9]*)\s*ns` (6.12 and later): the digits.
    static func ts(_ s: Bytes) -> Range<Int>? { nanoseconds(s, key: "ts", tail: "ns") }

    /// `ts\s*([0-9]*)\s*ns,` (6.1's tool).
    static func tsBeforeComma(_ s: Bytes) -> Range<Int>? { nanoseconds(s, key: "ts", tail: "ns,") }

    /// `free_ts\s*([0-9]*)\s*ns` (6.1's tool).
    static func freeTs(_ s: Bytes) -> Range<Int>? { nanoseconds(s, key: "free_ts", tail: "ns") }

    /// `KEY\s*([0-9]*)\s*TAIL`, TAIL starting with "n": the digits (the spaces, digits and
    /// "n" are disjoint, so the match at a position is unique).
    static func nanoseconds(_ s: Bytes, key: StaticString, tail: StaticString) -> Range<Int>? {
        firstMatch(s, key) { at in
            let digits = skip(s, at + key.utf8CodeUnitCount, while: isSpace)
            let end = skip(s, digits, while: isDigit)
            let n = skip(s, end, while: isSpace)
            return hasLiteral(s, n, tail) ? digits..<end : nil
        }
    }

    /// `tgid\s*[0-9]*\s*\((.*)\),\s*ts`: what is inside the parentheses. `.*` stays on the line
    /// of the "("; of the places where `),\s*ts` can follow it, the one giving the longest
    /// match wins (the spaces after the comma may run onto later lines).
    static func comm(_ s: Bytes) -> Range<Int>? {
        firstMatch(s, "tgid") { at in
            var i = skip(s, at + 4, while: isSpace)
            i = skip(s, i, while: isDigit)
            i = skip(s, i, while: isSpace)
            guard i < s.count, s[i] == UInt8(ascii: "(") else { return nil }
            let open = i + 1
            var best: (close: Int, end: Int)?
            var p = open
            while p < s.count, s[p] != 0x0a {
                if s[p] == UInt8(ascii: ")"), hasLiteral(s, p + 1, ",") {
                    let t = skip(s, p + 2, while: isSpace)
                    if hasLiteral(s, t, "ts"), best.map({ t + 2 > $0.end }) ?? true { best = (p, t + 2) }
                }
                p += 1
            }
            return best.map { open..<$0.close }
        }
    }

    /// `\+0x[0-9a-f]+/0x[0-9a-f]+\s*\[([a-zA-Z0-9_-]+)\]` (the newest tool's module name).
    static func module(_ s: Bytes) -> Range<Int>? {
        func isHex(_ c: UInt8) -> Bool { isDigit(c) || (c >= 0x61 && c <= 0x66) }
        func isName(_ c: UInt8) -> Bool {
            isDigit(c) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7a) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
        return firstMatch(s, "+0x") { at in
            let offset = at + 3
            let slash = skip(s, offset, while: isHex)
            guard slash > offset, hasLiteral(s, slash, "/0x") else { return nil }
            let sizeEnd = skip(s, slash + 3, while: isHex)
            guard sizeEnd > slash + 3 else { return nil }
            let bracket = skip(s, sizeEnd, while: isSpace)
            guard bracket < s.count, s[bracket] == UInt8(ascii: "[") else { return nil }
            let nameEnd = skip(s, bracket + 1, while: isName)
            guard nameEnd > bracket + 1, nameEnd < s.count, s[nameEnd] == UInt8(ascii: "]") else { return nil }
            return (bracket + 1)..<nameEnd
        }
    }

    /// Where `needle` first occurs in `s[from...]`, like strstr (memchr finds the candidates).
    @inline(__always) static func find(_ s: Bytes, _ needle: StaticString, from: Int = 0) -> Int? {
        let first = Int32(needle.utf8Start[0])
        let n = needle.utf8CodeUnitCount
        guard let base = s.baseAddress else { return nil }
        var at = max(0, from)
        while at + n <= s.count, let hit = memchr(base + at, first, s.count - at) {
            let i = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            if i + n > s.count { return nil }
            if memcmp(base + i, needle.utf8Start, n) == 0 { return i }
            at = i + 1
        }
        return nil
    }

    /// strtol(…, 10) of a captured digit string as the tool uses it: nil when it is empty or
    /// out of range for a long (errno set), else the value cut to the int it is stored in.
    static func int32(_ s: Bytes, _ r: Range<Int>?) -> Int32? {
        guard let v = unsignedValue(s, r), v <= UInt64(Int64.max) else { return nil }
        return Int32(truncatingIfNeeded: v)
    }

    /// strtoull(…, 10): nil when empty or out of range.
    static func unsignedValue(_ s: Bytes, _ r: Range<Int>?) -> UInt64? {
        guard let r, !r.isEmpty else { return nil }
        var v: UInt64 = 0
        for i in r {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(s[i] - 0x30))
            if o1 || o2 { return nil }
            v = a
        }
        return v
    }
}
