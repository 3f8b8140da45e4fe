/// What tools/mm/page_owner_sort is asked to do: its sort letters, `--sort` key lists, `--cull`
/// keys and select lists, checked the way the tool checks them.
public struct SortOptions: Sendable {
    /// Which version of the tool to answer like. They differ in two ways: 6.12's tool lets the
    /// default `-t` order replace any `--sort` list and knows no module key; the newest one
    /// (mm tree, with the module patch posted for it) honours `--sort` when no sort letter is
    /// given and adds `-M`, `--module`, the `module` cull and sort keys and `, module: NAME`.
    /// (6.1's tool is an older generation, with free_ts keys; it is not followed.)
    public enum Tool: String, Sendable, CaseIterable {
        case v6_12 = "6.12"
        case newest
    }

    /// A key of `--sort` and `--cull` (`txt` and `alloc_ts` sort only; the counts are the
    /// sort letters' own keys).
    public enum Key: Sendable, Equatable {
        case pid, tgid, comm, stacktrace, txt, allocTs, allocator, module, times, pages
    }

    public struct SortKey: Sendable, Equatable {
        public var key: Key
        public var descending: Bool
        public init(_ key: Key, descending: Bool = false) { self.key = key; self.descending = descending }
    }

    public var tool: Tool = .newest
    /// The keys the groups are sorted by, first one first.
    public var sort: [SortKey] = [SortKey(.times, descending: true)]
    /// The keys blocks are merged by; empty merges identical block texts.
    public var cull: [Key] = []
    public var pids: [Int32]?
    public var tgids: [Int32]?
    public var names: [String]?
    public var modules: [String]?

    public init() {}

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// The sort letter's key and direction: -a ascending time, -m pages (descending),
    /// -p pid, -P tgid, -s stack, -t times (descending, the default), -n comm, -M module.
    public static func letterKey(_ letter: Character) -> SortKey? {
        switch letter {
        case "a": return SortKey(.allocTs)
        case "m": return SortKey(.pages, descending: true)
        case "p": return SortKey(.pid)
        case "P": return SortKey(.tgid)
        case "s": return SortKey(.stacktrace)
        case "t": return SortKey(.times, descending: true)
        case "n": return SortKey(.comm)
        case "M": return SortKey(.module)
        default: return nil
        }
    }

    /// The keys `--sort` and `--cull` name, long and short forms.
    func namedKey(_ name: Substring) -> Key? {
        switch name {
        case "pid", "p": return .pid
        case "tgid", "tg": return .tgid
        case "name", "n": return .comm
        case "stacktrace", "st": return .stacktrace
        case "txt", "T": return .txt
        case "alloc_ts", "at": return .allocTs
        case "allocator", "ator": return .allocator
        case "module", "mod": return tool == .newest ? .module : nil
        default: return nil
        }
    }

    /// The tool splits lists at every comma and keeps empty items (which then fail to parse).
    public static func items(_ list: String) -> [Substring] {
        list.split(separator: ",", omittingEmptySubsequences: false)
    }

    /// `--sort [+|-]key,...`: ascending unless a key starts with '-'.
    public func sortKeys(_ list: String) throws -> [SortKey] {
        try Self.items(list).map { item in
            var name = item
            var descending = false
            if let sign = name.first, sign == "-" || sign == "+" {
                descending = sign == "-"
                name = name.dropFirst()
            }
            guard let key = namedKey(name) else { throw Invalid(description: "wrong argument after --sort option:\(list)") }
            return SortKey(key, descending: descending)
        }
    }

    /// `--cull key,...` (txt and alloc_ts are not cull keys).
    public func cullKeys(_ list: String) throws -> [Key] {
        try Self.items(list).map { name in
            guard let key = namedKey(name), key != .txt, key != .allocTs else {
                throw Invalid(description: "wrong argument after --cull option:\(list)")
            }
            return key
        }
    }

    /// `--pid`/`--tgid`: decimal numbers as strtol reads them (leading spaces and a sign
    /// allowed), stored as ints.
    public static func numbers(_ list: String, option: String) throws -> [Int32] {
        try items(list).map { item in
            var rest = item.drop(while: { $0.isASCII && ($0 == " " || ("\t"..."\r").contains($0)) })
            var negative = false
            if let sign = rest.first, sign == "-" || sign == "+" {
                negative = sign == "-"
                rest = rest.dropFirst()
            }
            guard !rest.isEmpty, rest.allSatisfy({ $0.isASCII && $0.isNumber }), let magnitude = Int64(rest) ?? (negative && rest == "9223372036854775808" ? Int64.min : nil) else {
                throw Invalid(description: "wrong/invalid \(option) in from the command line:\(list)")
            }
            return Int32(truncatingIfNeeded: negative ? 0 &- magnitude : magnitude)
        }
    }

    /// The order of the tool's main(): a sort letter wins; then (newest tool) a `--sort` list;
    /// otherwise times, descending.
    public mutating func resolve(letters: [Character], sortList: String?) throws {
        let keys = letters.compactMap(Self.letterKey)
        guard Set(letters).count <= 1 else { throw Invalid(description: "only one sort letter may be given") }
        if let list = sortList { sort = try sortKeys(list) }
        if let key = keys.first {
            sort = [key]
        } else if sortList == nil || tool == .v6_12 {
            sort = [SortKey(.times, descending: true)]
        }
    }

    /// The ts digits stay in the block text only when the first sort key is allocation time.
    var keepsTimestamps: Bool { sort.first?.key == .allocTs }
}
