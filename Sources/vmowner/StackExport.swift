import ArgumentParser
import DepotWalker
import ELFCore
import Exports
#if canImport(Glibc)
import Glibc
#endif

/// The output formats of `stacks`: the kernel's text, the structured exports and the three
/// profile views (folded stacks, flame graph SVG, pprof).
enum StacksFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, csv, folded, svg, pprof

    /// Pages per stack drawn or exported as a profile.
    var isProfile: Bool { self == .folded || self == .svg || self == .pprof }
}

/// Stacks turned into the exports' samples and written in one of the profile formats.
enum StackExport {
    static let pageSize: Int64 = 4096

    /// The stacks `stacks` would print (threshold applied), frames as `%pS`.
    static func samples(_ list: [StackCount], context: PageOwnerContext, threshold: UInt64) -> [StackSample] {
        list.filter { $0.pages >= 1 && UInt64($0.pages) >= threshold }
            .map { StackSample(frames: ($0.frames ?? []).map(context.symbolizer.format), pages: $0.pages) }
    }

    /// Labelled samples: one per stack, task, gfp mask and memcg; a stack's groups are kept
    /// when the stack as a whole holds `threshold` pages or more.
    static func samples(_ groups: [OwnerGroup], context: PageOwnerContext, threshold: UInt64) -> [StackSample] {
        var perStack: [UInt32: Int64] = [:]
        for g in groups { perStack[g.handle, default: 0] &+= g.pages }
        var frames: [UInt32: [String]] = [:]
        return groups.filter { (perStack[$0.handle] ?? 0) >= 1 && UInt64(perStack[$0.handle] ?? 0) >= threshold }.map { g in
            let f = frames[g.handle] ?? ((try? context.depot.frames(of: g.handle)) ?? []).map(context.symbolizer.format)
            frames[g.handle] = f
            return StackSample(frames: f, pages: g.pages,
                               labels: .init(comm: g.comm, pid: g.pid, memcg: g.memcg, gfp: g.gfpText))
        }
    }

    static func write(_ format: StacksFormat, _ samples: [StackSample], context: PageOwnerContext) throws {
        let name = context.dump.vmcorePath.split(separator: "/").last.map(String.init) ?? context.dump.vmcorePath
        let title = "Pages by allocation stack: Linux \(context.dump.release), \(name)"
        switch format {
        case .folded:
            StandardOutput.shared.write(FoldedStacks.text(samples))
        case .svg:
            StandardOutput.shared.write(FlameGraphSVG(title: title, pageSize: pageSize).render(samples))
        case .pprof:
            try refuseTerminal("pprof")
            StandardOutput.shared.write(try PprofProfile(pageSize: pageSize, comment: title).data(samples))
        case .text, .json, .csv:
            break
        }
    }

    /// Binary output is not for a terminal.
    static func refuseTerminal(_ what: String) throws {
        if isatty(STDOUT_FILENO) != 0 {
            fputs("vmowner: --format \(what) writes binary data; redirect it to a file (> profile.pb.gz)\n", stderr)
            throw ExitCode(1)
        }
    }
}
