/// What tools/mm/page_owner_sort is asked to do: its sort letters, `--sort` key lists, `--cull`
/// keys and select lists, checked the way the tool checks them.
public struct SortOptions: Sendable {
    /// Which generation of the tool to answer like. Every difference between them is named
    /// here, and the sorter asks these names (never the version) what to do.
    ///
    /// - 6.1 (tools/vm/page_owner_sort.c, Debian's linux-source-6.1) knows free times: `-f`
    ///   drops blocks freed after their allocation, `-r` and `free_ts`/`ft` sort by the free
    ///   time, the `free`/`f` cull key tells released from unreleased blocks. Its letters and
    ///   `--sort` lists each replace the order, the last one wins; with none, a `--cull` sorts
    ///   by times and otherwise the groups stay in the cull order. It keeps the ts in the block
    ///   text, reads ts only before "ns,", adds a repeated block to the one before it without
    ///   reading its PFN line, and its time comparators never answer "equal".
    /// - 6.12 (tools/mm) refuses two different letters and lets the default `-t` order replace
    ///   any `--sort` list; it takes the ts out of the text unless it sorts by time first.
    /// - newest (mm tree, with the module patch posted for it) honours `--sort` when no sort
    ///   letter is given and adds `-M`, `--module`, the `module` keys and `, module: NAME`.
    public enum Tool: String, Sendable, CaseIterable {
        case v6_1 = "6.1"
        case v6_12 = "6.12"
        case newest

        /// `-f`, `-r`, the `free` cull key and the `free_ts` sort key.
        public var hasFreeTimes: Bool { self == .v6_1 }
        /// `-M`, `--module`, the `module` keys.
        public var hasModules: Bool { self == .newest }
        /// Several sort letters and lists: the last one wins (6.1; with none, a `--cull` sorts
        /// by times and otherwise the groups keep the cull order), or two letters are an error.
        public var lastOrderWins: Bool { self == .v6_1 }
        /// A `--sort` list is followed when no letter is given (6.12 lets `-t` replace it).
        public var followsSortList: Bool { self != .v6_12 }
        /// A block with the same text as the one added last joins it, allocator class and all.
        public var repeatsJoinTheLastBlock: Bool { self == .v6_1 }
        /// The ts digits are taken out of the block text unless time is the first sort key.
        public var removesTimestamps: Bool { self != .v6_1 }
        /// 6.1's ts pattern is `ts\s*([0-9]*)\s*ns,` (a comma after "ns"), later ones end at "ns".
        public var timestampNeedsComma: Bool { self == .v6_1 }
        /// 6.1's compare_ts and compare_free_ts answer -1 or 1, never 0 (see SortGroups.sorted).
        public var timesNeverTie: Bool { self == .v6_1 }
    }

    /// A sort letter or a `--sort` list, in command-line order.
    public enum Request: Sendable, Equatable {
        case letter(Character)
        case list(String)
    }

    /// A key of `--sort` and `--cull` (`txt`, `alloc_ts` and `free_ts` sort only, `released`
    /// cull only; the counts are the sort letters' own keys).
    public enum Key: Sendable, Equatable {
        case pid, tgid, comm, stacktrace, txt, allocTs, freeTs, allocator, module, released, times, pages
    }

    public struct SortKey: Sendable, Equatable {
        public var key: Key
        public var descending: Bool
        public init(_ key: Key, descending: Bool = false) { self.key = key; self.descending = descending }
    }

    public var tool: Tool = .newest
    /// The keys the groups are sorted by, first one first (none: the cull order).
    public var sort: [SortKey] = [SortKey(.times, descending: true)]
    /// The keys blocks are merged by; empty merges identical block texts.
    public var cull: [Key] = []
    public var pids: [Int32]?
    public var tgids: [Int32]?
    public var names: [String]?
    public var modules: [String]?
    /// `-f` (6.1): leave out blocks with a free time after their allocation time.
    public var dropsFreedBlocks = false

    public init() {}

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// The sort letter's key and direction: -a ascending time, -m pages (descending),
    /// -p pid, -P tgid, -s stack, -t times (descending, the default), -n comm, -M module,
    /// -r ascending free time.
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
        case "r": return SortKey(.freeTs)
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
        case "module", "mod": return tool.hasModules ? .module : nil
        case "free", "f": return tool.hasFreeTimes ? .released : nil
        case "free_ts", "ft": return tool.hasFreeTimes ? .freeTs : nil
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
            guard let key = namedKey(name), key != .released else { throw Invalid(description: "wrong argument after --sort option:\(list)") }
            return SortKey(key, descending: descending)
        }
    }

    /// `--cull key,...` (txt and the times are not cull keys).
    public func cullKeys(_ list: String) throws -> [Key] {
        try Self.items(list).map { name in
            guard let key = namedKey(name), key != .txt, key != .allocTs, key != .freeTs else {
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

    /// The order the tool's main() ends with, from the sort letters and `--sort` lists in
    /// command-line order (every list is checked, as the tool checks each when it meets it)
    /// and whether a `--cull` was given.
    public mutating func resolve(_ requests: [Request], culled: Bool) throws {
        var last: [SortKey]?
        var letters: [Character] = []
        var list: [SortKey]?
        for request in requests {
            switch request {
            case .letter(let letter):
                guard let key = Self.letterKey(letter) else { throw Invalid(description: "no sort letter -\(letter)") }
                letters.append(letter)
                last = [key]
            case .list(let text):
                list = try sortKeys(text)
                last = list
            }
        }
        let times = [SortKey(.times, descending: true)]
        if tool.lastOrderWins {
            sort = last ?? (culled ? times : [])
            return
        }
        guard Set(letters).count <= 1 else { throw Invalid(description: "only one sort letter may be given") }
        if let letter = letters.first, let key = Self.letterKey(letter) {
            sort = [key]
        } else if let list, tool.followsSortList {
            sort = list
        } else {
            sort = times
        }
    }

    /// The ts digits stay in the block text when the tool keeps them or sorts by time first.
    var keepsTimestamps: Bool { !tool.removesTimestamps || sort.first?.key == .allocTs }
}
