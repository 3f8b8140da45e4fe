import DepotWalker
import ELFCore

/// Where `stacks` and `diff` take their counts from: the kernel's own stack list (6.9+),
/// or the pages themselves on older kernels, with --from-pages and when a selection is given
/// (the kernel's list knows no owners).
enum StackSource {
    static func counts(_ context: PageOwnerContext, fromPages: Bool, selector: PageSelector = .all, vmcore: String) throws -> [StackCount] {
        if !fromPages, selector.selectsAll, let list = try StackCounts.fromStackList(context) { return list }
        let census = PageCensus(context: context, selector: selector)
        if census.unreadable > 0 { Diagnostics.warn("\(census.unreadable) pages could not be read from \(vmcore); counts are partial") }
        return StackCounts.fromPages(census, context: context)
    }
}
