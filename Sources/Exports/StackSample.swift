/// One allocation stack with the pages it holds, as every export sees it: frames are the
/// kernel's `%pS` text, innermost first (the order page_owner prints them), and labels say
/// whose pages they are when the report knows (comm, pid, memcg, gfp).
public struct StackSample: Sendable, Equatable {
    public var frames: [String]
    public var pages: Int64
    public var labels: Labels

    public struct Labels: Sendable, Equatable, Hashable {
        public var comm: String?
        public var pid: Int64?
        public var memcg: String?
        /// The mask as page_owner prints it: `0x400dc0(GFP_KERNEL_ACCOUNT|__GFP_ZERO)`.
        public var gfp: String?

        public init(comm: String? = nil, pid: Int64? = nil, memcg: String? = nil, gfp: String? = nil) {
            self.comm = comm
            self.pid = pid
            self.memcg = memcg
            self.gfp = gfp
        }
    }

    public init(frames: [String], pages: Int64, labels: Labels = Labels()) {
        self.frames = frames
        self.pages = pages
        self.labels = labels
    }

    /// Root first, the order flame graphs and folded stacks read. A stack that could not be
    /// read still gets one frame, so its pages are drawn and counted.
    public var rootFirst: [String] {
        frames.isEmpty ? [Self.unknownFrame] : frames.reversed()
    }

    public static let unknownFrame = "[stack unavailable]"
}

/// Number formatting shared by the exports (one decimal, as the summary prints).
enum Units {
    static func mib(_ pages: Int64, pageSize: Int64) -> Double {
        Double(pages) * Double(pageSize) / 1_048_576
    }

    static func oneDecimal(_ v: Double) -> String {
        guard v.isFinite else { return "0.0" }
        let tenths = (v * 10).rounded()
        let whole = Int64(tenths / 10)
        let frac = Int64(abs(tenths.truncatingRemainder(dividingBy: 10)))
        let sign = v < 0 && whole == 0 && frac != 0 ? "-" : ""
        return "\(sign)\(whole).\(frac)"
    }
}

extension Units {
    /// `+12` / `-3` / `0`.
    static func signed(_ v: Int64) -> String { v > 0 ? "+\(v)" : "\(v)" }
}
