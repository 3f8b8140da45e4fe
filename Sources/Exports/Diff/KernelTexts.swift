import Foundation

/// Reads back what a live kernel printed, so a snapshot captured from debugfs can be
/// compared with a dump: `page_owner_stacks/show_stacks` (frames, then `nr_base_pages: N`)
/// and `/sys/kernel/debug/page_owner` (a `Page allocated via order N, ...` header per block,
/// a PFN line, frames, memcg lines; 1 << order pages each). Works on bytes: a page_owner
/// file runs to hundreds of MB.
public enum KernelTexts {
    public struct Unrecognised: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    public enum Kind: String, Sendable { case showStacks = "show_stacks", pageOwner = "page_owner" }

    static let pageOwnerHeader = Array("Page allocated via order ".utf8)
    static let pagesLine = Array("nr_base_pages: ".utf8)
    static let handleLine = Array("handle: ".utf8)

    /// The kind of text, from its first lines.
    public static func kind(of text: Data) -> Kind? {
        var found: Kind?
        text.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var lines = 0
            forEachLine(bytes) { line in
                lines += 1
                if line.starts(with: pageOwnerHeader) { found = .pageOwner; return false }
                if line.starts(with: pagesLine) { found = .showStacks; return false }
                return lines < 200
            }
        }
        return found
    }

    /// Pages per stack in either text; one sample per distinct stack, in order of first appearance.
    public static func samples(_ text: Data) throws -> (kind: Kind, samples: [StackSample]) {
        guard let kind = kind(of: text) else {
            throw Unrecognised(reason: "neither show_stacks (nr_base_pages:) nor page_owner (Page allocated via order) text")
        }
        var totals = StackTotals()
        var failure: String?
        text.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            failure = kind == .showStacks ? showStacks(bytes, into: &totals) : pageOwner(bytes, into: &totals)
        }
        if let failure { throw Unrecognised(reason: failure) }
        return (kind, totals.samples)
    }

    /// show_stacks: frame lines, then the count that closes the stack.
    static func showStacks(_ bytes: UnsafeBufferPointer<UInt8>, into totals: inout StackTotals) -> String? {
        var stack: Range<Int>?
        var number = 0
        var failure: String?
        forEachLine(bytes) { line in
            number += 1
            let range = line.startIndex..<line.endIndex
            if line.first == UInt8(ascii: " ") {
                stack = (stack?.lowerBound ?? range.lowerBound)..<range.upperBound
            } else if line.starts(with: pagesLine) {
                guard let pages = decimal(line.dropFirst(pagesLine.count)) else {
                    failure = "line \(number): bad page count"
                    return false
                }
                totals.add(bytes, stack, pages: pages)
                stack = nil
            } else if !line.isEmpty && !line.starts(with: handleLine) {
                failure = "line \(number): not show_stacks text"
                return false
            }
            return true
        }
        return failure
    }

    /// page_owner: the header's order gives the pages; the frame lines that follow the PFN
    /// line are the stack (memcg and migrate lines come after it or carry no space).
    static func pageOwner(_ bytes: UnsafeBufferPointer<UInt8>, into totals: inout StackTotals) -> String? {
        var pages: Int64?
        var stack: Range<Int>?
        var stackClosed = false
        var number = 0
        var failure: String?
        func flush() {
            if let p = pages { totals.add(bytes, stack, pages: p) }
            pages = nil
            stack = nil
            stackClosed = false
        }
        forEachLine(bytes) { line in
            number += 1
            if line.starts(with: pageOwnerHeader) {
                flush()
                let digits = line.dropFirst(pageOwnerHeader.count).prefix { $0 != UInt8(ascii: ",") }
                guard let order = decimal(digits), order <= 30 else {
                    failure = "line \(number): bad order in \"Page allocated via order\""
                    return false
                }
                pages = Int64(1) << order
            } else if line.first == UInt8(ascii: " ") {
                if pages != nil, !stackClosed {
                    let range = line.startIndex..<line.endIndex
                    stack = (stack?.lowerBound ?? range.lowerBound)..<range.upperBound
                }
            } else if line.isEmpty {
                flush()
            } else if stack != nil {
                stackClosed = true
            }
            return true
        }
        flush()
        return failure
    }

    /// Calls `body` with each line (without its newline) until it returns false.
    static func forEachLine(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Slice<UnsafeBufferPointer<UInt8>>) -> Bool) {
        var start = 0
        while start < bytes.count {
            var end = start
            if let base = bytes.baseAddress, let nl = memchr(base + start, 0x0a, bytes.count - start) {
                end = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
            } else {
                end = bytes.count
            }
            if !body(bytes[start..<end]) { return }
            start = end + 1
        }
    }

    static func decimal(_ digits: Slice<UnsafeBufferPointer<UInt8>>) -> Int64? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var v: Int64 = 0
        for d in digits {
            guard d >= 0x30, d <= 0x39 else { return nil }
            v = v * 10 + Int64(d - 0x30)
        }
        return v
    }
}

/// Pages per stack keyed by the stack's raw frame lines, turned into frames once at the end.
struct StackTotals {
    private var order: [[UInt8]] = []
    private var pages: [[UInt8]: Int64] = [:]

    mutating func add(_ bytes: UnsafeBufferPointer<UInt8>, _ stack: Range<Int>?, pages count: Int64) {
        let key = stack.map { Array(bytes[$0]) } ?? []
        if pages[key] == nil { order.append(key) }
        pages[key, default: 0] &+= count
    }

    var samples: [StackSample] {
        order.map { key in
            let frames = key.split(separator: 0x0a).map { String(decoding: $0.dropFirst(), as: UTF8.self) }
            return StackSample(frames: frames, pages: pages[key] ?? 0)
        }
    }
}
